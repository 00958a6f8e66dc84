package imds

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
)

// The generated operations and models against the emulator: every typed call,
// the documents' members reachable by field, and json.Marshal of a model giving
// back what encoding/json reads from the service's document.
func TestGeneratedOperations(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	ctx := context.Background()

	inst, err := c.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Zone == nil || inst.Zone.Name == "" || inst.VCPU == nil || inst.VCPU.Count == 0 ||
		inst.Profile == nil || inst.VPC == nil || inst.VPC.CRN == "" || inst.Startable == nil ||
		inst.EnableSecureBoot == nil || *inst.EnableSecureBoot || inst.MetadataService == nil ||
		inst.BootVolumeAttachment == nil || inst.BootVolumeAttachment.Volume == nil ||
		len(inst.VolumeAttachments) == 0 || inst.PrimaryNetworkInterface == nil ||
		inst.PrimaryNetworkInterface.Subnet == nil || inst.PrimaryNetworkInterface.PrimaryIPv4Address == "" {
		t.Fatalf("instance members missing: %+v", inst)
	}
	var std Instance
	if err := json.Unmarshal(inst.Raw, &std); err != nil {
		t.Fatal(err)
	}
	std.Raw = inst.Raw
	if !reflect.DeepEqual(*inst, std) {
		t.Fatalf("Instance() differs from encoding/json: %s", diffPath(reflect.ValueOf(*inst), reflect.ValueOf(std), ""))
	}
	// json.Marshal gives IBM's member names; reading that back gives the same model.
	out, err := json.Marshal(inst)
	if err != nil || !strings.Contains(string(out), `"primary_ipv4_address"`) || strings.Contains(string(out), "some_field_added") {
		t.Fatalf("marshal: %s %v", out, err)
	}
	var again Instance
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	again.Raw = inst.Raw
	if !reflect.DeepEqual(*inst, again) {
		t.Fatalf("marshal round trip: %s", diffPath(reflect.ValueOf(*inst), reflect.ValueOf(again), ""))
	}

	init, err := c.Initialization(ctx)
	if err != nil || len(init.Keys) != 3 || init.Keys[0].Fingerprint == "" || len(init.Raw) == 0 {
		t.Fatalf("initialization %+v %v", init, err)
	}
	nics, err := c.NetworkInterfaces(ctx)
	if err != nil || len(nics) == 0 || nics[0].Subnet == nil {
		t.Fatalf("network interfaces %+v %v", nics, err)
	}
	nic, err := c.NetworkInterface(ctx, nics[0].ID)
	if err != nil || nic.ID != nics[0].ID || nic.PortSpeed == 0 || len(nic.SecurityGroups) == 0 {
		t.Fatalf("network interface %+v %v", nic, err)
	}
	vas, err := c.VolumeAttachments(ctx)
	if err != nil || len(vas) == 0 || vas[0].Volume == nil {
		t.Fatalf("volume attachments %+v %v", vas, err)
	}
	va, err := c.VolumeAttachment(ctx, vas[0].ID)
	if err != nil || va.ID != vas[0].ID || va.DeleteVolumeOnInstanceDelete == nil {
		t.Fatalf("volume attachment %+v %v", va, err)
	}
	var keyIDs []string
	for k, err := range c.Keys(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		keyIDs = append(keyIDs, k.ID)
	}
	key, err := c.Key(ctx, keyIDs[len(keyIDs)-1])
	if err != nil || key.ID != keyIDs[len(keyIDs)-1] || key.Length == 0 {
		t.Fatalf("key %+v %v", key, err)
	}
	var groups []PlacementGroup
	for g, err := range c.PlacementGroups(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	if len(groups) > 0 {
		g, err := c.PlacementGroup(ctx, groups[0].ID)
		if err != nil || g.ID != groups[0].ID || g.Strategy == "" {
			t.Fatalf("placement group %+v %v", g, err)
		}
	}

	// GetPages: one document per page, lazily; break abandons the rest.
	var pages []json.RawMessage
	for page, err := range c.GetPages(ctx, "keys?limit=1") {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
	}
	if len(pages) != len(keyIDs) {
		t.Fatalf("%d pages for %d keys", len(pages), len(keyIDs))
	}
	for i, page := range pages {
		var p KeyCollection
		if err := decodeDoc(page, p.decode); err != nil || len(p.Keys) != 1 || p.Keys[0].ID != keyIDs[i] {
			t.Fatalf("page %d: %s %v", i, page, err)
		}
	}
	for _, err := range c.GetPages(ctx, "keys?limit=1") {
		if err != nil {
			t.Fatal(err)
		}
		break
	}

	// IdentityCertificate: a CSR of a new key.
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{Organization: []string{"test"}}}, priv)
	if err != nil {
		t.Fatal(err)
	}
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	cert, err := c.IdentityCertificate(ctx, csr, 600)
	if err != nil || len(cert.Certificates) == 0 || !strings.HasPrefix(cert.Certificates[0], "-----BEGIN CERTIFICATE") {
		t.Fatalf("identity certificate %+v %v", cert, err)
	}
	if _, err := c.IdentityCertificate(ctx, "not a csr", 0); err == nil {
		t.Fatal("a bad CSR was accepted")
	}

	// WaitUntilReady with the generated seconds argument.
	if err := c.WaitUntilReady(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

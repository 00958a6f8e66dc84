package imds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// fastVsStd decodes doc with the package's decoder and with encoding/json into
// two new values of a model and reports whether they disagree (a result, or an
// error against none).
func fastVsStd(newModel func() model, doc []byte) (string, bool) {
	fast, std := newModel(), newModel()
	errFast := decodeDoc(doc, fast.decode)
	errStd := json.Unmarshal(doc, std)
	switch {
	case (errFast == nil) != (errStd == nil):
		return "fast " + errString(errFast) + ", encoding/json " + errString(errStd), true
	case errFast == nil && !reflect.DeepEqual(fast, std):
		return "different values " + diffPath(reflect.ValueOf(fast), reflect.ValueOf(std), ""), true
	}
	return "", false
}

func newInstance() model { return new(Instance) }

// damage changes, removes or inserts 1 to 3 bytes of doc.
func damage(rng *rand.Rand, doc []byte) []byte {
	alphabet := []byte("{}[]\",:\\ 0123456789-.eEtrufalsn\x00\x1f\x80\xff")
	b := append([]byte(nil), doc...)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			break
		}
		i := rng.IntN(len(b))
		switch rng.IntN(3) {
		case 0:
			b[i] = alphabet[rng.IntN(len(alphabet))]
		case 1:
			b = append(b[:i], b[i+1:]...)
		default:
			b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
		}
	}
	return b
}

// Every generated model's decoder gives what encoding/json gives on every
// fixture (whichever document it is: members it does not know are skipped, a
// member of another type fails both) and on damaged copies of each fixture.
func TestEveryModelAgreesWithEncodingJSON(t *testing.T) {
	fixtures, err := filepath.Glob("../../tests/vectors/fixtures/*.json")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	names := make([]string, 0, len(generatedModels))
	for name := range generatedModels {
		names = append(names, name)
	}
	sort.Strings(names)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, path := range fixtures {
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		own := operationModels[filepath.Base(path[:len(path)-len(".json")])]
		for _, name := range names {
			newModel := generatedModels[name]
			if why, differ := fastVsStd(newModel, doc); differ {
				t.Errorf("%s as %s: %s", filepath.Base(path), name, why)
			}
			rounds := 20
			if name == own {
				rounds = 500 // the document's own model
			}
			for range rounds {
				b := damage(rng, doc)
				if why, differ := fastVsStd(newModel, b); differ {
					t.Fatalf("%s as %s: %s after damage:\n%s", filepath.Base(path), name, why, b)
				}
			}
		}
		if own != "" {
			v := generatedModels[own]()
			if err := decodeDoc(doc, v.decode); err != nil || reflect.ValueOf(v).Elem().IsZero() {
				t.Errorf("%s as %s: %v, or nothing decoded", filepath.Base(path), own, err)
			}
		}
	}
}

// diffPath names the first place two decoded values differ.
func diffPath(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path + " kind"
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s nil %v vs %v", path, a.IsNil(), b.IsNil())
		}
		if a.IsNil() {
			return ""
		}
		return diffPath(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := diffPath(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Sprintf("%s slice nil %v/%v len %d/%d", path, a.IsNil(), b.IsNil(), a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if d := diffPath(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %#v vs %#v", path, a.Interface(), b.Interface())
		}
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	doc, err := os.ReadFile("../../tests/vectors/fixtures/instance.json")
	if err != nil {
		t.Fatal(err)
	}
	var inst Instance
	if err := decodeDoc(doc, inst.decode); err != nil || inst.ID == "" || len(inst.NetworkInterfaces) == 0 ||
		inst.PrimaryNetworkInterface == nil || inst.VCPU == nil || inst.VCPU.Count == 0 || inst.Memory == 0 {
		t.Fatalf("the fixture: %v %+v", err, inst)
	}
	cases := []string{
		string(doc), `null`, ` {} `, `{"id":"a\"b\u00e9\ud83d\ude00","name":"caf\u00e9 ünï"}`,
		`{"id":"\ud800"}`, "{\"id\":\"\xff\xfe\"}", `{"memory":12,"bandwidth":-0}`, `{"memory":1.5}`,
		`{"memory":1e3}`, `{"memory":"1"}`, `{"memory":99999999999999999999}`, `{"id":1}`, `{"id":null}`,
		`{"image":null}`, `{"image":{"id":"x"}}`, `{"image":{}}`, `{"image":[]}`, `{"network_interfaces":null}`,
		`{"network_interfaces":[]}`, `{"network_interfaces":[null,{"id":"n","primary_ip":null}]}`,
		`{"network_interfaces":{}}`, `{"vcpu":{"count":2,"count":3}}`, `{"zone":{"name":"a"},"zone":{"id":"b"}}`,
		`{"other":{"a":[1,2,{"b":[true,false,null,"x\\y"]}],"c":-1.5e-7}}`, `{"a":1,}`, `{"a":[1,]}`, `{"a":01}`,
		`{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":tru}`, `{"a":"x`, `{"a":"\x"}`, "{\"a\":\"\n\"}", `{"a" 1}`,
		`{a:1}`, `{} {}`, `{}x`, ``, ` `, `[]`, `"x"`, `1`, `{"id":"x"`, `{"vcpu":{"count":true}}`,
		`{"profile":"x"}`, `{"NAME":"x","Id":"y","vcpu":{"COUNT":2},"Zone":{"NaMe":"z"}}`, `{"name":"a","NAME":"b"}`,
		`{"NAME":"b","name":"a"}`, "{\"\u017ftatus\":\"x\",\"\\u017fTATUS\":\"y\"}", `{"Startable":true,"startable":null}`, `{"primary_network_interface":{"subnet":{"id":"s"},"primary_ip":{"address":"10.0.0.1"}}}`,
	}
	for _, c := range cases {
		if why, differ := fastVsStd(newInstance, []byte(c)); differ {
			t.Errorf("%q: %s", c, why)
		}
	}
	// Random damage to the fixture: both accept it with the same value, or both refuse.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b := damage(rng, doc)
		if why, differ := fastVsStd(newInstance, b); differ {
			t.Fatalf("%s after damage:\n%s", why, b)
		}
	}
}

// TestRefreshAfter: the core's schedule for the lifetime the core reads.
func TestRefreshAfter(t *testing.T) {
	for doc, want := range map[string]time.Duration{
		`{"access_token":"a","expires_in":3600}`:                                                       3300 * time.Second,
		`{"access_token":"a","expires_in":300}`:                                                        240 * time.Second,
		`{"access_token":"a","expires_in":2}`:                                                          time.Second,
		`{"access_token":"a","created_at":"2026-12-06T10:00:00Z","expires_at":"2026-12-06T10:05:00Z"}`: 240 * time.Second,
		`{"access_token":"a"}`:                                                                         0,
	} {
		if got := (&Token{secret: &tokenSecret{doc: []byte(doc)}}).RefreshAfter(); got != want {
			t.Errorf("%s: RefreshAfter() = %v, want %v", doc, got, want)
		}
	}
}

func TestDecodeToken(t *testing.T) {
	doc := []byte(`{"access_token":"a.b.c","expires_in":300,"created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T00:05:00Z","x":[1]}`)
	var fast, std tokenJSON
	if err := decodeDoc(doc, fast.decode); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc, &std); err != nil || fast != std {
		t.Fatal("the token decoders differ")
	}
}

func BenchmarkDecodeInstance(b *testing.B) {
	doc, err := os.ReadFile("../../tests/vectors/fixtures/instance.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v Instance
			if err := decodeDoc(doc, v.decode); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v Instance
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A record field that does not fit its Go type (a Retry-After past int64 here, past
// int32 on a 32-bit platform) is left zero; the kind, status and trace are kept.
func TestErrorRecordWithAnOversizedField(t *testing.T) {
	err := errorFrom([]byte(`{"kind":"rate_limited","message":"slow down","cause":"http","status":429,"retry_after":1e30,"trace":"t-9"}`))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited || e.Status != 429 || e.Trace != "t-9" || e.RetryAfter != 0 {
		t.Fatalf("%#v", err)
	}
	if err := errorFrom([]byte(`{"kind":`)); !errors.Is(err, KindBadResponse) {
		t.Fatalf("a truncated record: %v", err)
	}
}

// A compilation cache whose files are corrupt costs the cache, not the package.
func TestACorruptCompilationCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rt, _, err := compile(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = rt.Close(ctx)
	corrupted := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if os.WriteFile(path, []byte("not a compiled module"), 0o600) == nil {
				corrupted++
			}
		}
		return nil
	})
	if corrupted == 0 {
		t.Skip("wazero wrote no cache here (its interpreter runs this platform)")
	}
	if _, _, direct := compile(ctx, dir); direct == nil {
		t.Fatal("wazero read a corrupt cache without error: this test shows nothing")
	}
	rt, compiled, err := compileCached(ctx, dir)
	if err != nil || compiled == nil {
		t.Fatalf("with %d corrupt cache files: %v", corrupted, err)
	}
	_ = rt.Close(ctx)
}

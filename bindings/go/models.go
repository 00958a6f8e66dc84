package imds

import (
	"encoding/json"
	"fmt"
)

// Reference is a named resource reference (id, crn, name, href).
type Reference struct {
	ID   string `json:"id"`
	CRN  string `json:"crn,omitempty"`
	Name string `json:"name,omitempty"`
	Href string `json:"href,omitempty"`
}

// Instance is GET /metadata/v1/instance (the main members; Raw holds all of it).
type Instance struct {
	ID                      string             `json:"id"`
	CRN                     string             `json:"crn"`
	Name                    string             `json:"name"`
	Status                  string             `json:"status"`
	CreatedAt               string             `json:"created_at"`
	Memory                  int                `json:"memory"`
	Bandwidth               int                `json:"bandwidth"`
	Profile                 Reference          `json:"profile"`
	Zone                    Reference          `json:"zone"`
	VPC                     Reference          `json:"vpc"`
	Image                   *Reference         `json:"image"`
	ResourceGroup           Reference          `json:"resource_group"`
	VCPU                    VCPU               `json:"vcpu"`
	PrimaryNetworkInterface *NetworkInterface  `json:"primary_network_interface"`
	NetworkInterfaces       []NetworkInterface `json:"network_interfaces"`
	Raw                     json.RawMessage    `json:"-"`
}

// VCPU is an instance's virtual CPUs.
type VCPU struct {
	Architecture string `json:"architecture"`
	Count        int    `json:"count"`
	Manufacturer string `json:"manufacturer"`
}

// NetworkInterface is a network interface of the instance.
type NetworkInterface struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	PrimaryIPv4Address string    `json:"primary_ipv4_address,omitempty"`
	PrimaryIP          *Address  `json:"primary_ip,omitempty"`
	Subnet             Reference `json:"subnet"`
}

// Address is a reserved IP.
type Address struct {
	Address string `json:"address"`
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
}

// VolumeAttachment is a volume attached to the instance.
type VolumeAttachment struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Type   string    `json:"type"`
	Volume Reference `json:"volume"`
}

// Key is an SSH key of the instance.
type Key struct {
	ID          string `json:"id"`
	CRN         string `json:"crn"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	Length      int    `json:"length"`
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
}

// PlacementGroup is a placement group.
type PlacementGroup struct {
	ID       string `json:"id"`
	CRN      string `json:"crn"`
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
}

// Initialization is GET /metadata/v1/instance/initialization, without its user
// data (Client.UserData returns the bytes).
type Initialization struct {
	Keys                  []Reference `json:"keys"`
	DefaultTrustedProfile *struct {
		AutoLink bool      `json:"auto_link"`
		Target   Reference `json:"target"`
	} `json:"default_trusted_profile"`
	Raw json.RawMessage `json:"-"`
}

// Token is an identity or IAM token. Its String form never shows the token.
type Token struct {
	accessToken string
	// ExpiresIn is the lifetime in seconds the service stated.
	ExpiresIn int
	// CreatedAt and ExpiresAt are the service's RFC 3339 times.
	CreatedAt, ExpiresAt string
	// Nonce is the nonce the request carried, echoed ("" when none).
	Nonce string
}

// Value is the token itself, for an Authorization header.
func (t *Token) Value() string { return t.accessToken }

// String shows the lifetime, never the token.
func (t Token) String() string { return "Token([REDACTED], expires_in " + itoa(t.ExpiresIn) + ")" }

// GoString is the same as String (for %#v).
func (t Token) GoString() string { return t.String() }

// Format keeps fmt verbs (%v, %+v, %s) from reaching the token.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type tokenJSON struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	CreatedAt   string `json:"created_at"`
	ExpiresAt   string `json:"expires_at"`
	Nonce       string `json:"nonce"`
}

// Profile names a trusted profile for an IAM token (at most one member; none: the
// instance's default trusted profile).
type Profile struct {
	ID, CRN, Name string
}

type keysPage struct {
	Keys []Key `json:"keys"`
}

type placementGroupsPage struct {
	PlacementGroups []PlacementGroup `json:"placement_groups"`
}

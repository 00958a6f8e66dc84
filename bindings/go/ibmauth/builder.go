package ibmauth

import (
	"errors"
	"net/http"

	"github.com/IBM/go-sdk-core/v5/core"
	imds "github.com/vpc-imds/vpc-imds/bindings/go"
)

// VpcInstanceAuthenticatorBuilder builds a VpcInstanceAuthenticator, as
// go-sdk-core's builder of the same name does.
type VpcInstanceAuthenticatorBuilder struct {
	a VpcInstanceAuthenticator
}

// NewVpcInstanceAuthenticatorBuilder returns an empty builder.
func NewVpcInstanceAuthenticatorBuilder() *VpcInstanceAuthenticatorBuilder {
	return &VpcInstanceAuthenticatorBuilder{}
}

// SetIAMProfileCRN sets IAMProfileCRN.
func (b *VpcInstanceAuthenticatorBuilder) SetIAMProfileCRN(s string) *VpcInstanceAuthenticatorBuilder {
	b.a.IAMProfileCRN = s
	return b
}

// SetIAMProfileID sets IAMProfileID.
func (b *VpcInstanceAuthenticatorBuilder) SetIAMProfileID(s string) *VpcInstanceAuthenticatorBuilder {
	b.a.IAMProfileID = s
	return b
}

// SetIAMProfileName sets IAMProfileName.
func (b *VpcInstanceAuthenticatorBuilder) SetIAMProfileName(s string) *VpcInstanceAuthenticatorBuilder {
	b.a.IAMProfileName = s
	return b
}

// SetURL sets URL.
func (b *VpcInstanceAuthenticatorBuilder) SetURL(s string) *VpcInstanceAuthenticatorBuilder {
	b.a.URL = s
	return b
}

// SetServiceVersion sets ServiceVersion.
func (b *VpcInstanceAuthenticatorBuilder) SetServiceVersion(s string) *VpcInstanceAuthenticatorBuilder {
	b.a.ServiceVersion = s
	return b
}

// SetTokenLifetime sets TokenLifetime (seconds).
func (b *VpcInstanceAuthenticatorBuilder) SetTokenLifetime(lifetime int) *VpcInstanceAuthenticatorBuilder {
	b.a.TokenLifetime = lifetime
	return b
}

// SetClient sets Client (only its Timeout and TLS configuration are used).
func (b *VpcInstanceAuthenticatorBuilder) SetClient(client *http.Client) *VpcInstanceAuthenticatorBuilder {
	b.a.Client = client
	return b
}

// SetOptions sets Options (further vpc-imds options).
func (b *VpcInstanceAuthenticatorBuilder) SetOptions(opts ...imds.Option) *VpcInstanceAuthenticatorBuilder {
	b.a.Options = opts
	return b
}

// Build validates the configuration (Validate) and returns the authenticator.
func (b *VpcInstanceAuthenticatorBuilder) Build() (*VpcInstanceAuthenticator, error) {
	a := &VpcInstanceAuthenticator{
		IAMProfileCRN: b.a.IAMProfileCRN, IAMProfileID: b.a.IAMProfileID, IAMProfileName: b.a.IAMProfileName,
		URL: b.a.URL, ServiceVersion: b.a.ServiceVersion, TokenLifetime: b.a.TokenLifetime,
		Client: b.a.Client, Options: b.a.Options,
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// NewVpcInstanceAuthenticatorFromMap builds an authenticator from go-sdk-core's
// property names: IAM_PROFILE_CRN, IAM_PROFILE_ID, IAM_PROFILE_NAME, AUTH_URL,
// VPC_IMS_VERSION.
func NewVpcInstanceAuthenticatorFromMap(properties map[string]string) (*VpcInstanceAuthenticator, error) {
	if properties == nil {
		return nil, core.SDKErrorf(errors.New(core.ERRORMSG_PROPS_MAP_NIL), "", "missing-props", component)
	}
	return NewVpcInstanceAuthenticatorBuilder().
		SetIAMProfileCRN(properties[core.PROPNAME_IAM_PROFILE_CRN]).
		SetIAMProfileID(properties[core.PROPNAME_IAM_PROFILE_ID]).
		SetIAMProfileName(properties[core.PROPNAME_IAM_PROFILE_NAME]).
		SetURL(properties[core.PROPNAME_AUTH_URL]).
		SetServiceVersion(properties[core.PROPNAME_VPC_IMS_VERSION]).
		Build()
}

// NewVpcInstanceAuthenticatorFromEnvironment reads the service's properties as
// go-sdk-core does (credentials file, environment, VCAP_SERVICES; names
// prefixed with the upper-cased serviceName, e.g. MY_SERVICE_IAM_PROFILE_ID) and
// builds an authenticator from them. The AUTH_TYPE property is not consulted.
func NewVpcInstanceAuthenticatorFromEnvironment(serviceName string) (*VpcInstanceAuthenticator, error) {
	props, err := core.GetServiceProperties(serviceName)
	if err != nil {
		return nil, err
	}
	if props == nil {
		props = map[string]string{}
	}
	return NewVpcInstanceAuthenticatorFromMap(props)
}

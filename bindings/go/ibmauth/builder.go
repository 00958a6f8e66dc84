package ibmauth

import (
	"errors"

	"github.com/IBM/go-sdk-core/v5/core"
)

// VpcInstanceAuthenticatorBuilder builds a VpcInstanceAuthenticator, as
// go-sdk-core's builder of the same name does (its setters: builder_gen.go).
type VpcInstanceAuthenticatorBuilder struct {
	a VpcInstanceAuthenticator
}

// NewVpcInstanceAuthenticatorBuilder returns an empty builder.
func NewVpcInstanceAuthenticatorBuilder() *VpcInstanceAuthenticatorBuilder {
	return &VpcInstanceAuthenticatorBuilder{}
}

// Build validates the configuration (Validate) and returns the authenticator.
func (b *VpcInstanceAuthenticatorBuilder) Build() (*VpcInstanceAuthenticator, error) {
	a := &VpcInstanceAuthenticator{ // field by field: the authenticator holds a lock
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

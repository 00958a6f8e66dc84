package ibmauth

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
	imds "github.com/vpc-imds/vpc-imds/bindings/go"
)

// The emulator's trusted profiles (its built-in fixture).
const (
	defaultProfileID = "Profile-00000000-0000-4000-8000-0000000000a1"
	readerID         = "Profile-00000000-0000-4000-8000-0000000000a2"
	readerCRN        = "crn:v1:bluemix:public:iam-identity::a/0000fakeaccount0000::profile:" + readerID
	readerName       = "emu-cos-reader"
	unlinkedName     = "emu-unlinked-profile"
)

func TestMain(m *testing.M) {
	// Every authenticator here is given the emulator's loopback URL; one made
	// without it would go to VPC_IMDS_ENDPOINT: a loopback port nothing serves.
	_ = os.Setenv(imds.EndpointEnv, "http://127.0.0.1:9")
	os.Exit(m.Run())
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// debugLog sends go-sdk-core's log, at debug level, to a buffer for the test.
func debugLog(t *testing.T) *syncBuffer {
	var buf syncBuffer
	old := core.GetLogger()
	core.SetLogger(core.NewLogger(core.LevelDebug, log.New(&buf, "", 0), log.New(&buf, "", 0)))
	t.Cleanup(func() { core.SetLogger(old) })
	return &buf
}

// service is a loopback API that records the Authorization headers it gets.
type service struct {
	*core.BaseService
	url  string
	mu   sync.Mutex
	auth []string
}

func newService(t *testing.T, a core.Authenticator) (*service, error) {
	s := &service{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	base, err := core.NewBaseService(&core.ServiceOptions{URL: srv.URL, Authenticator: a})
	s.BaseService = base
	return s, err
}

// get sends GET /things through the BaseService (with ctx).
func (s *service) get(ctx context.Context) (*core.DetailedResponse, error) {
	b := core.NewRequestBuilder(core.GET).WithContext(ctx)
	if _, err := b.ResolveRequestURL(s.url, "/things", nil); err != nil {
		return nil, err
	}
	req, err := b.Build()
	if err != nil {
		return nil, err
	}
	var result map[string]any
	return s.Request(req, &result)
}

// authenticators: ours and go-sdk-core's, both on the given (loopback) URL.
func authenticators(url string) map[string]core.Authenticator {
	return map[string]core.Authenticator{
		"vpc-imds":    &VpcInstanceAuthenticator{URL: url},
		"go-sdk-core": &core.VpcInstanceAuthenticator{URL: url},
	}
}

func closeAuth(a core.Authenticator) {
	if c, ok := a.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// TestBaseService: several BaseService requests to a loopback API carry the IAM
// token the emulator issued, fetched once (one identity token, one exchange);
// the same with go-sdk-core's VpcInstanceAuthenticator.
func TestBaseService(t *testing.T) {
	for _, name := range []string{"vpc-imds", "go-sdk-core"} {
		t.Run(name, func(t *testing.T) {
			logs := debugLog(t)
			e := startEmulator(t)
			tp := newTee(t, e)
			a := authenticators(tp.url)[name]
			defer closeAuth(a)
			if a.AuthenticationType() != core.AUTHTYPE_VPC {
				t.Fatalf("type %q", a.AuthenticationType())
			}
			s, err := newService(t, a)
			if err != nil {
				t.Fatal(err)
			}
			const requests = 5
			for i := 0; i < requests; i++ {
				resp, err := s.get(context.Background())
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("request %d: %v %v", i, resp, err)
				}
			}
			identity, iam := tp.issued()
			if len(identity) != 1 || len(iam) != 1 {
				t.Fatalf("issued %d identity and %d IAM tokens, want 1 and 1", len(identity), len(iam))
			}
			if c := claims(iam[0]); c["sub"] != defaultProfileID || c["sub_type"] != "Profile" {
				t.Fatalf("the IAM token is not the default profile's: %v %v", c["sub"], c["sub_type"])
			}
			if len(s.auth) != requests {
				t.Fatalf("%d requests reached the service", len(s.auth))
			}
			for i, h := range s.auth {
				if h != "Bearer "+iam[0] {
					t.Fatalf("request %d: the Authorization header is not the issued IAM token (%d bytes)", i, len(h))
				}
			}
			if a, b := e.counters(t); a != 1 || b != 1 {
				t.Fatalf("emulator counters: %d identity tokens, %d IAM exchanges; want 1 and 1", a, b)
			}
			if name == "vpc-imds" {
				noToken(t, "the debug log", logs.String(), identity, iam)
			}
		})
	}
}

// noToken fails if text holds any of the tokens.
func noToken(t *testing.T, what, text string, tokens ...[]string) {
	t.Helper()
	for _, list := range tokens {
		for _, tok := range list {
			if strings.Contains(text, tok) || strings.Contains(text, strings.Split(tok, ".")[1]) {
				t.Fatalf("%s holds a token", what)
			}
		}
	}
}

// TestProfiles: IAMProfileID, IAMProfileCRN and IAMProfileName select the
// trusted profile, for ours as for go-sdk-core's.
func TestProfiles(t *testing.T) {
	e := startEmulator(t)
	for _, c := range []struct{ name, id, crn, pname string }{
		{"id", readerID, "", ""}, {"crn", "", readerCRN, ""}, {"name", "", "", readerName},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours := &VpcInstanceAuthenticator{URL: e.base, IAMProfileID: c.id, IAMProfileCRN: c.crn, IAMProfileName: c.pname}
			defer ours.Close()
			theirs := &core.VpcInstanceAuthenticator{URL: e.base, IAMProfileID: c.id, IAMProfileCRN: c.crn, IAMProfileName: c.pname}
			for who, get := range map[string]func() (string, error){"vpc-imds": ours.GetToken, "go-sdk-core": theirs.GetToken} {
				tok, err := get()
				if err != nil {
					t.Fatalf("%s: %v", who, err)
				}
				if sub := claims(tok)["sub"]; sub != readerID {
					t.Fatalf("%s: the token is %v's", who, sub)
				}
			}
		})
	}
}

// TestConcurrent: 20 goroutines authenticating at once on a new authenticator
// share one identity token and one IAM exchange.
func TestConcurrent(t *testing.T) {
	e := startEmulator(t)
	a := &VpcInstanceAuthenticator{URL: e.base}
	defer a.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
			errs <- a.Authenticate(req)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a, b := e.counters(t); a != 1 || b != 1 {
		t.Fatalf("emulator counters: %d identity tokens, %d IAM exchanges; want 1 and 1", a, b)
	}
}

// TestErrors: every failure wraps an *imds.Error (errors.As, errors.Is with the
// kind sentinels), through core.BaseService too, and no error text holds a token.
func TestErrors(t *testing.T) {
	t.Run("unlinked profile through BaseService", func(t *testing.T) {
		logs := debugLog(t)
		e := startEmulator(t)
		tp := newTee(t, e)
		a := &VpcInstanceAuthenticator{URL: tp.url, IAMProfileName: unlinkedName}
		defer a.Close()
		s, err := newService(t, a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.get(context.Background())
		var ie *imds.Error
		if !errors.As(err, &ie) || ie.Status != 400 || ie.Code != "profile_not_linked" {
			t.Fatalf("want an *imds.Error with status 400 and code profile_not_linked, got %T %v", err, err)
		}
		var sdk *core.SDKProblem
		if !errors.As(err, &sdk) {
			t.Fatalf("not an *core.SDKProblem: %T", err)
		}
		identity, _ := tp.issued()
		if len(identity) != 1 || len(s.auth) != 0 {
			t.Fatalf("%d identity tokens issued, %d requests reached the service", len(identity), len(s.auth))
		}
		noToken(t, "the error", err.Error()+sdk.GetDebugMessage()+sdk.GetConsoleMessage(), identity)
		noToken(t, "the debug log", logs.String(), identity)
	})
	t.Run("refused", func(t *testing.T) {
		a := &VpcInstanceAuthenticator{URL: closedPort(t)}
		defer a.Close()
		s, err := newService(t, a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.get(context.Background())
		var ie *imds.Error
		if !errors.As(err, &ie) || ie.Kind != imds.KindRefused || !errors.Is(err, imds.ErrRefused) {
			t.Fatalf("want refused, got %T %v", err, err)
		}
	})
	t.Run("two profiles", func(t *testing.T) {
		a := &VpcInstanceAuthenticator{URL: "http://127.0.0.1:9", IAMProfileID: readerID, IAMProfileName: readerName}
		defer a.Close()
		err := a.Validate()
		if !errors.Is(err, imds.ErrInvalidInput) || !strings.Contains(err.Error(), "At most one of") {
			t.Fatalf("Validate: %v", err)
		}
		if _, err := core.NewBaseService(&core.ServiceOptions{URL: "http://127.0.0.1:9", Authenticator: a}); err == nil {
			t.Fatal("NewBaseService accepted it")
		}
		if _, err := NewVpcInstanceAuthenticatorBuilder().SetURL("http://127.0.0.1:9").SetIAMProfileID(readerID).SetIAMProfileCRN(readerCRN).Build(); err == nil {
			t.Fatal("Build accepted it")
		}
	})
	t.Run("bad settings", func(t *testing.T) {
		for _, a := range []*VpcInstanceAuthenticator{
			{URL: "ftp://127.0.0.1:9"},
			{URL: "http://127.0.0.1:9", ServiceVersion: "yesterday"},
		} {
			var ie *imds.Error
			if err := a.Validate(); !errors.As(err, &ie) || ie.Kind != imds.KindInvalidInput {
				t.Fatalf("%+v: %v", a, err)
			}
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		e := startEmulator(t)
		a := &VpcInstanceAuthenticator{URL: e.base}
		defer a.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1/", nil)
		if err := a.Authenticate(req); !errors.Is(err, context.Canceled) || req.Header.Get("Authorization") != "" {
			t.Fatalf("%v", err)
		}
		if n := e.ctl(t, "GET", "/counters")["requests"]; n != 0.0 {
			t.Fatalf("%v requests were sent", n)
		}
	})
	t.Run("closed", func(t *testing.T) {
		e := startEmulator(t)
		a := &VpcInstanceAuthenticator{URL: e.base}
		if _, err := a.GetToken(); err != nil {
			t.Fatal(err)
		}
		_ = a.Close()
		if _, err := a.GetToken(); !errors.Is(err, imds.ErrInvalidInput) {
			t.Fatalf("%v", err)
		}
	})
}

// TestFromProperties: go-sdk-core's property names, from a map and from the
// environment.
func TestFromProperties(t *testing.T) {
	e := startEmulator(t)
	a, err := NewVpcInstanceAuthenticatorFromMap(map[string]string{
		core.PROPNAME_AUTH_URL: e.base, core.PROPNAME_IAM_PROFILE_NAME: readerName, core.PROPNAME_VPC_IMS_VERSION: "2022-03-01",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.ServiceVersion != "2022-03-01" || a.IAMProfileName != readerName {
		t.Fatalf("%+v", a)
	}
	if tok, err := a.GetToken(); err != nil || claims(tok)["sub"] != readerID {
		t.Fatalf("%v", err)
	}
	if _, err := NewVpcInstanceAuthenticatorFromMap(nil); err == nil {
		t.Fatal("a nil map was accepted")
	}

	dir := t.TempDir()
	creds := filepath.Join(dir, "ibm-credentials.env")
	_ = os.WriteFile(creds, []byte("OTHER_AUTH_TYPE=iam\n"), 0o600)
	t.Setenv("IBM_CREDENTIALS_FILE", creds)
	t.Setenv("MY_SERVICE_AUTH_URL", e.base)
	t.Setenv("MY_SERVICE_IAM_PROFILE_ID", readerID)
	b, err := NewVpcInstanceAuthenticatorFromEnvironment("my_service")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.URL != e.base || b.IAMProfileID != readerID {
		t.Fatalf("%+v", b)
	}
	if tok, err := b.GetToken(); err != nil || claims(tok)["sub"] != readerID {
		t.Fatalf("%v", err)
	}
}

// TestKnownToken: the machine is asked for the token once, then not again until
// the refresh point of the token it handed out (Token.RefreshAfter, the core's
// schedule, after the call that fetched it: 3300 s for the emulator's 3600 s IAM
// tokens); past it, it is asked on every call.
func TestKnownToken(t *testing.T) {
	e := startEmulator(t)
	a := &VpcInstanceAuthenticator{URL: e.base}
	defer a.Close()
	defer func() { now = time.Now }()
	calls := machineCalls.Load()
	first, err := a.GetToken()
	if err != nil {
		t.Fatal(err)
	}
	ask := func(ahead time.Duration, wantCalls int64) {
		t.Helper()
		now = func() time.Time { return time.Now().Add(ahead) }
		tok, err := a.GetToken()
		if err != nil || tok != first {
			t.Fatalf("%v ahead: another token or %v", ahead, err)
		}
		if got := machineCalls.Load() - calls; got != wantCalls {
			t.Fatalf("%v ahead: %d questions to the machine, want %d", ahead, got, wantCalls)
		}
	}
	ask(0, 1)
	ask(3299*time.Second, 1)
	ask(3301*time.Second, 2) // the machine still holds it (its clock did not move)
	ask(3301*time.Second, 3)
	if a, b := e.counters(t); a != 1 || b != 1 {
		t.Fatalf("emulator counters: %d identity tokens, %d IAM exchanges; want 1 and 1", a, b)
	}
}

package imds

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
)

// fastVsStd decodes doc with the package's decoder and with encoding/json and
// reports whether they disagree (a result, or an error against none).
func fastVsStd(doc []byte) (string, bool) {
	var fast, std Instance
	errFast := decodeDoc(doc, fast.decode)
	errStd := json.Unmarshal(doc, &std)
	switch {
	case (errFast == nil) != (errStd == nil):
		return "fast " + errString(errFast) + ", encoding/json " + errString(errStd), true
	case errFast == nil && !reflect.DeepEqual(fast, std):
		return "different values", true
	}
	return "", false
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
		inst.PrimaryNetworkInterface == nil || inst.VCPU.Count == 0 || inst.Memory == 0 {
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
		`{"profile":"x"}`, `{"primary_network_interface":{"subnet":{"id":"s"},"primary_ip":{"address":"10.0.0.1"}}}`,
	}
	for _, c := range cases {
		if why, differ := fastVsStd([]byte(c)); differ {
			t.Errorf("%q: %s", c, why)
		}
	}
	// Random damage to the fixture: both accept it with the same value, or both refuse.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("{}[]\",:\\ 0123456789-.eEtrufalsn\x00\x1f\x80\xff")
	for range 3000 {
		b := append([]byte(nil), doc...)
		for range 1 + rng.IntN(3) {
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
		if why, differ := fastVsStd(b); differ {
			t.Fatalf("%s after damage:\n%s", why, b)
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

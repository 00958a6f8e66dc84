// The reference for compare/firstcall: a bare Go program doing the same two
// requests (identity token, instance) with net/http and encoding/json.
// go run ./compare/nethttp URL
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func main() {
	base := os.Args[1]
	req, _ := http.NewRequest("PUT", base+"/identity/v1/token?version=2025-08-26", nil)
	req.Header.Set("Metadata-Flavor", "ibm")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := do(req, &tok); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req, _ = http.NewRequest("GET", base+"/metadata/v1/instance?version=2025-08-26", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var instance struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := do(req, &instance); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("instance", instance.Name)
}

func do(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", req.URL.Path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

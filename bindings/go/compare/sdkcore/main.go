// The same job with IBM's go-sdk-core (size comparison only; not part of the
// package): an IAM token for the default trusted profile.
// go run . URL
package main

import (
	"fmt"
	"os"

	"github.com/IBM/go-sdk-core/v5/core"
)

func main() {
	auth, err := core.NewVpcInstanceAuthenticatorBuilder().SetURL(os.Args[1]).Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	token, err := auth.GetToken()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("IAM token of", len(token), "bytes")
}

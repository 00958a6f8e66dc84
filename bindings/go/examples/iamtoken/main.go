// An IAM token for the default trusted profile (compare/sdkcore does the same with
// IBM's go-sdk-core): go run ./examples/iamtoken URL
package main

import (
	"context"
	"fmt"
	"os"

	imds "github.com/vpc-imds/vpc-imds/bindings/go"
)

func main() {
	client, err := imds.New(imds.WithEndpoint(os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	token, err := client.IAMToken(context.Background(), imds.Profile{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("IAM token of", len(token.Value()), "bytes")
}

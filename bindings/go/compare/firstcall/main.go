// A fresh process's first Instance() (timed from outside by compare/run.sh,
// beside compare/nethttp): go run ./compare/firstcall URL
package main

import (
	"context"
	"fmt"
	"os"

	imds "github.com/vpc-imds/vpc-imds/bindings/go"
)

func main() {
	client, err := imds.New(imds.WithEndpoint(os.Args[1]), imds.IgnoreEnv())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	instance, err := client.Instance(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("instance", instance.Name)
}

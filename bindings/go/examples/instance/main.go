// Prints the instance's name and ID, and its SSH keys: go run ./examples/instance [URL]
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	imds "github.com/vpc-imds/vpc-imds/bindings/go"
)

func main() {
	var opts []imds.Option
	if len(os.Args) > 1 {
		opts = append(opts, imds.WithEndpoint(os.Args[1]))
	}
	client, err := imds.New(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	instance, err := client.Instance(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	zone := "?"
	if instance.Zone != nil {
		zone = instance.Zone.Name
	}
	fmt.Printf("instance %s (%s) in %s\n", instance.Name, instance.ID, zone)
	for key, err := range client.Keys(ctx) {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("key %s (%s, %d bits)\n", key.Name, key.Type, key.Length)
	}
}

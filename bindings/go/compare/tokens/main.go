// An IAM token on a new client, N times in one process (the module compiled
// once, before the first timed round): each round is New, IAMToken (an identity
// token, then the IAM exchange) and Close. Prints the median.
// compare/sdkcore/tokens does the same with IBM's go-sdk-core.
// go run ./compare/tokens URL N
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	imds "github.com/vpc-imds/vpc-imds/bindings/go"
)

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	var times []time.Duration
	for i := -1; i < n; i++ { // round -1 compiles the module and is not counted
		started := time.Now()
		client, err := imds.New(imds.WithEndpoint(os.Args[1]), imds.IgnoreEnv())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		token, err := client.IAMToken(context.Background(), imds.Profile{})
		if err != nil || token.Value() == "" {
			fmt.Fprintln(os.Stderr, "no IAM token:", err)
			os.Exit(1)
		}
		_ = client.Close()
		if i >= 0 {
			times = append(times, time.Since(started))
		}
	}
	slices.Sort(times)
	fmt.Printf("vpc-imds New+IAMToken+Close: median %d µs of %d\n", times[len(times)/2].Microseconds(), n)
}

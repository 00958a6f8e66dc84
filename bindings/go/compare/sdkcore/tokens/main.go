// An IAM token with IBM's go-sdk-core VpcInstanceAuthenticator, N times in one
// process, each on a new authenticator (compare/tokens does the same with
// vpc-imds). Prints the median. go run ./tokens URL N
package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
)

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	var times []time.Duration
	for i := -1; i < n; i++ { // round -1 warms up and is not counted
		started := time.Now()
		auth, err := core.NewVpcInstanceAuthenticatorBuilder().SetURL(os.Args[1]).Build()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		token, err := auth.GetToken()
		if err != nil || token == "" {
			fmt.Fprintln(os.Stderr, "no IAM token:", err)
			os.Exit(1)
		}
		if i >= 0 {
			times = append(times, time.Since(started))
		}
	}
	slices.Sort(times)
	fmt.Printf("go-sdk-core VpcInstanceAuthenticator+GetToken: median %d µs of %d\n", times[len(times)/2].Microseconds(), n)
}

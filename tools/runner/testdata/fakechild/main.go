// Command fakechild stands in for both daprd and an app in the runner's
// lifecycle tests. Started with --dapr-http-port it acts as daprd and serves
// /v1.0/healthz there; otherwise it acts as an app and serves /healthz on
// $APP_PORT. FAKE_EXIT_CODE makes the app exit at once with that code;
// FAKE_IGNORE_SIGTERM makes it ignore SIGTERM, so only SIGKILL stops it.
// Either way it writes its pid to <role>-<app id>-<port>.pid in its
// working directory so that tests can check it is gone.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	role, id, port, path := "app", os.Getenv("APP_ID"), os.Getenv("APP_PORT"), "/healthz"
	// As daprd, only two of the flags the runner passes matter.
	for i := 0; i+1 < len(os.Args); i++ {
		switch os.Args[i] {
		case "--app-id":
			id = os.Args[i+1]
		case "--dapr-http-port":
			role, port, path = "daprd", os.Args[i+1], "/v1.0/healthz"
		}
	}
	addr := "127.0.0.1:" + port
	// Written aside, then renamed: a test never reads the file empty. The
	// port tells the replicas of one app apart.
	pidFile := role + "-" + id + "-" + port + ".pid"
	if err := os.WriteFile(pidFile+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		fail(err)
	}
	if err := os.Rename(pidFile+".tmp", pidFile); err != nil {
		fail(err)
	}
	if code := os.Getenv("FAKE_EXIT_CODE"); code != "" && role == "app" {
		fmt.Fprintln(os.Stderr, "fake app failing on purpose")
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	fmt.Printf("fake %s listening on %s\n", role, addr)
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	go func() { _ = http.Serve(ln, mux) }()

	if os.Getenv("FAKE_IGNORE_SIGTERM") != "" && role == "app" {
		signal.Ignore(syscall.SIGTERM)
		select {}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	fmt.Printf("fake %s stopping\n", role)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

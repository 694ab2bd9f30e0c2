package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
)

// checkPprofAddr validates --pprof-addr and returns its port: the host must
// be a loopback IP (the handlers have no authentication), the port a number.
func checkPprofAddr(addr string) int {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		fatalf(exitConflict, "bad --pprof-addr %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fatalf(exitConflict, "bad --pprof-addr %q: the host must be a loopback IP address (the handlers have no authentication)", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		fatalf(exitConflict, "bad --pprof-addr %q: invalid port", addr)
	}
	return port
}

// servePprof serves Go's profiling handlers on a loopback address of their
// own (checked by checkPprofAddr; never the API server's port, never off the
// machine). The benchmark uses it to see where the control plane's CPU goes
// (bench/pod-bench.ts --cp-profile-dir). A mux of our own rather than
// http.DefaultServeMux, so that nothing a library registers there is exposed.
func servePprof(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fatalf(exitConflict, "--pprof-addr %q: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }()
}

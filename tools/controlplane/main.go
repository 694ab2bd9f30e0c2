// Command controlplane runs a real Kubernetes control plane (embedded etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) in ONE process,
// for tests and local development. See README.md.
//
// All three Kubernetes components are driven through their options/app
// packages rather than their cobra commands: the commands install signal
// handlers of their own (genericapiserver.SetupSignalContext panics when
// called twice), so this program parses each component's flags into its
// options struct and calls the same Config/Complete/Validate/Run functions
// the cobra RunE would, under one signal handler and one root context.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/grpclog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

type config struct {
	dataDir                string
	apiServerPort          int
	etcdClientPort         int
	etcdPeerPort           int
	keepData               bool
	nodeMonitorGracePeriod time.Duration
	verifyKubeletServing   bool
	clusterSigningDuration time.Duration
	logFile                string
	pprofAddr              string
	pprofPort              int // from pprofAddr, checked in parseFlags
	auditLog               string
}

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // a component failed to start or died
	exitConflict = 2 // bad usage, port busy or data dir locked by a live instance
)

// shutdownTimeout bounds the graceful stop after SIGTERM/SIGINT.
const shutdownTimeout = 5 * time.Second

var startTime = time.Now()

// realStdout and userStderr are the caller's stdout and stderr. During
// startup file descriptors 1 and 2 themselves are redirected to the log (see
// setupLogging), so nothing but the ready line ever reaches the caller's
// stdout and only our own one-line messages reach its stderr, whatever a
// library writes (e.g. the apiserver's etcd client builds a zap logger bound
// to stderr in an init function, out of our reach).
var (
	realStdout = os.Stdout
	userStderr = os.Stderr
)

func parseFlags() *config {
	cfg := &config{}
	fs := flag.NewFlagSet("controlplane", flag.ExitOnError)
	fs.StringVar(&cfg.dataDir, "data-dir", "", "directory for PKI, etcd data, kubeconfigs, pid file and log (required)")
	fs.IntVar(&cfg.apiServerPort, "apiserver-port", 6443, "kube-apiserver secure port on 127.0.0.1")
	fs.IntVar(&cfg.etcdClientPort, "etcd-client-port", 2379, "embedded etcd client port on 127.0.0.1")
	fs.IntVar(&cfg.etcdPeerPort, "etcd-peer-port", 2380, "embedded etcd peer port on 127.0.0.1")
	fs.BoolVar(&cfg.keepData, "keep-data", false, "keep --data-dir on exit (default: remove it)")
	fs.DurationVar(&cfg.nodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second,
		"kube-controller-manager --node-monitor-grace-period: how long a node may go without a heartbeat before it is marked unhealthy")
	fs.BoolVar(&cfg.verifyKubeletServing, "verify-kubelet-serving", false,
		"pass --kubelet-certificate-authority=<pki>/ca.crt so the API server verifies kubelet serving certs against the cluster CA")
	fs.DurationVar(&cfg.clusterSigningDuration, "cluster-signing-duration", 365*24*time.Hour,
		"kube-controller-manager --cluster-signing-duration: the longest lifetime of a certificate issued from a CSR (short ones let tests see renewals)")
	fs.StringVar(&cfg.pprofAddr, "pprof-addr", "",
		"serve Go's pprof handlers (/debug/pprof/...) on this loopback address, e.g. 127.0.0.1:6060; one CPU profile covers etcd and all three components (off by default)")
	fs.StringVar(&cfg.auditLog, "audit-log", "",
		"write the API server's audit log (every write to pods and nodes, Metadata level: who, what, answer code) to this file (off by default)")
	fs.StringVar(&cfg.logFile, "log-file", "", "log destination for all components (default <data-dir>/controlplane.log; '-' for stderr)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: controlplane --data-dir DIR [flags]\n\n"+
			"Runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler in one process.\n"+
			"Prints one JSON line to stdout when the API server is ready.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(userStderr, "controlplane: unexpected arguments: %q\n", fs.Args())
		os.Exit(exitConflict)
	}
	if cfg.dataDir == "" {
		fmt.Fprintln(userStderr, "controlplane: --data-dir is required")
		fs.Usage()
		os.Exit(exitConflict)
	}
	abs, err := filepath.Abs(cfg.dataDir)
	if err != nil {
		fatalf(exitConflict, "bad --data-dir: %v", err)
	}
	cfg.dataDir = abs
	if cfg.pprofAddr != "" {
		cfg.pprofPort = checkPprofAddr(cfg.pprofAddr)
	}
	if cfg.auditLog != "" {
		if cfg.auditLog, err = filepath.Abs(cfg.auditLog); err != nil {
			fatalf(exitConflict, "bad --audit-log: %v", err)
		}
	}
	if cfg.logFile == "" {
		cfg.logFile = filepath.Join(cfg.dataDir, "controlplane.log")
	} else if cfg.logFile != "-" {
		if cfg.logFile, err = filepath.Abs(cfg.logFile); err != nil {
			fatalf(exitConflict, "bad --log-file: %v", err)
		}
	}
	return cfg
}

func fatalf(code int, format string, args ...any) {
	klog.Flush()
	fmt.Fprintf(userStderr, "controlplane: "+format+"\n", args...)
	os.Exit(code)
}

// checkPorts tries to listen on every port. It returns the API server's
// listener still open (handed over to kube-apiserver); the etcd ones are
// closed again because embed.StartEtcd binds by URL.
func checkPorts(cfg *config) net.Listener {
	type port struct {
		n    int
		what string
	}
	ports := []port{{cfg.apiServerPort, "kube-apiserver"}, {cfg.etcdClientPort, "etcd client"}, {cfg.etcdPeerPort, "etcd peer"}}
	seen := map[int]string{}
	for _, p := range ports {
		if p.n <= 0 || p.n > 65535 {
			fatalf(exitConflict, "invalid port %d (%s)", p.n, p.what)
		}
		if other, dup := seen[p.n]; dup {
			fatalf(exitConflict, "port %d is given for both %s and %s", p.n, other, p.what)
		}
		seen[p.n] = p.what
	}
	// The pprof listener is opened later (servePprof), after the etcd ports are closed again here:
	// the same port given for both would let pprof take etcd's port, so refuse it now (exit 2, retried by callers).
	if other, dup := seen[cfg.pprofPort]; cfg.pprofAddr != "" && dup {
		fatalf(exitConflict, "port %d is given for both %s and --pprof-addr", cfg.pprofPort, other)
	}
	var apiLn net.Listener
	for _, p := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(p.n)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fatalf(exitConflict, "port %s (%s) is already in use; is another control plane running with the same ports?", addr, p.what)
		}
		if p.n == cfg.apiServerPort {
			apiLn = ln
		} else {
			ln.Close()
		}
	}
	return apiLn
}

// ownDataDirEntries are the names controlplane creates in --data-dir.
var ownDataDirEntries = map[string]bool{
	"controlplane.pid": true, "controlplane.log": true, "kubeconfig": true,
	"controller-manager.kubeconfig": true, "scheduler.kubeconfig": true,
	"scheduler-config.yaml": true, "pki": true, "etcd": true,
}

// lockDataDir takes an exclusive flock on <data-dir>/controlplane.pid and
// writes our pid into it. The lock dies with the process, so a stale pid file
// from a killed instance never blocks a new start.
func lockDataDir(dir string) *os.File {
	// The data dir is deleted on exit, so refuse a directory holding
	// anything but our own files (e.g. a mistyped --data-dir=$HOME).
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if !ownDataDirEntries[e.Name()] {
				fatalf(exitConflict, "--data-dir %s is not empty and holds %q, which controlplane did not create; use an empty or new directory", dir, e.Name())
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf(exitConflict, "cannot create --data-dir: %v", err)
	}
	path := filepath.Join(dir, "controlplane.pid")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		fatalf(exitConflict, "cannot open %s: %v", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		fatalf(exitConflict, "data dir %s is in use by a running control plane (pid %s); use another --data-dir",
			dir, strings.TrimSpace(string(b)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f
}

// setupLogging sends everything that components log (klog, etcd's zap
// loggers, grpc) to logFile, or to stderr for "-", at low verbosity. It
// works at the file-descriptor level: fd 2 (and fd 1) are pointed at the log
// file and the caller's original stdout/stderr are kept as realStdout and
// userStderr. Returns etcd's LogOutputs value.
func setupLogging(logFile string) string {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", "0")
	_ = fs.Set("logtostderr", "true") // fd 2, i.e. the log file

	dupFile := func(fd int, name string) *os.File {
		nfd, err := unix.Dup(fd)
		if err != nil {
			fatalf(exitFailure, "dup %s: %v", name, err)
		}
		unix.CloseOnExec(nfd)
		return os.NewFile(uintptr(nfd), name)
	}
	realStdout = dupFile(1, "stdout")
	target := 2 // "-": stray stdout writes go to stderr
	if logFile != "-" {
		f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fatalf(exitConflict, "cannot open log file: %v", err)
		}
		userStderr = dupFile(2, "stderr")
		target = int(f.Fd())
		if err := unix.Dup2(target, 2); err != nil {
			fatalf(exitFailure, "redirect stderr: %v", err)
		}
		// Go runtime crashes (unrecovered panics) go to the log via fd 2;
		// also show them to the caller.
		_ = debug.SetCrashOutput(userStderr, debug.CrashOptions{})
	}
	if err := unix.Dup2(target, 1); err != nil {
		fatalf(exitFailure, "redirect stdout: %v", err)
	}
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, os.Stderr, os.Stderr))
	return "stderr"
}

func writeKubeconfig(path, server, user string, caFile, certFile, keyFile string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	crt, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["controlplane"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	kc.Contexts["controlplane"] = &clientcmdapi.Context{Cluster: "controlplane", AuthInfo: user}
	kc.CurrentContext = "controlplane"
	return clientcmd.WriteToFile(*kc, path)
}

type readyLine struct {
	Event      string `json:"event"`
	Kubeconfig string `json:"kubeconfig"`
	Server     string `json:"server"`
	PKI        string `json:"pki"`
	PID        int    `json:"pid"`
	StartupMs  int64  `json:"startupMs"`
}

type componentExit struct {
	name string
	err  error
}

// component is a running goroutine-hosted component with its own context so
// that shutdown can stop them in dependency order.
type component struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
}

func startComponent(name string, exits chan<- componentExit, run func(ctx context.Context) error) *component {
	ctx, cancel := context.WithCancel(context.Background())
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		err := run(ctx)
		if ctx.Err() == nil { // exited on its own: always a failure
			if err == nil {
				err = errors.New("exited unexpectedly")
			}
			exits <- componentExit{name, err}
		}
	}()
	return c
}

// stop cancels the component and waits for it until deadline.
func (c *component) stop(deadline time.Time) bool {
	if c == nil {
		return true
	}
	c.cancel()
	select {
	case <-c.done:
		return true
	case <-time.After(time.Until(deadline)):
		klog.Warningf("%s did not stop in time", c.name)
		return false
	}
}

func main() {
	cfg := parseFlags()
	apiLn := checkPorts(cfg)
	if cfg.pprofAddr != "" {
		servePprof(cfg.pprofAddr)
	}
	lock := lockDataDir(cfg.dataDir)
	etcdLogOut := setupLogging(cfg.logFile)
	// kube components log self-issued API warnings otherwise.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})

	// One signal handler for the whole process.
	sigCh := make(chan os.Signal, 2)
	signal.Notify(sigCh, syscall.SIGTERM, syscall.SIGINT)

	var (
		etcd       *embed.Etcd
		components []*component // in start order
		mu         sync.Mutex
	)
	cleanup := func() {
		klog.Flush()
		_ = lock.Close()
		if !cfg.keepData {
			_ = os.RemoveAll(cfg.dataDir)
		} else {
			_ = os.Remove(filepath.Join(cfg.dataDir, "controlplane.pid"))
		}
	}
	// shutdown stops components in reverse start order, then etcd.
	shutdown := func() {
		deadline := time.Now().Add(shutdownTimeout - 500*time.Millisecond)
		mu.Lock()
		cs := append([]*component(nil), components...)
		mu.Unlock()
		for i := len(cs) - 1; i >= 0; i-- {
			cs[i].stop(deadline)
		}
		mu.Lock()
		e := etcd
		mu.Unlock()
		if e != nil {
			done := make(chan struct{})
			go func() { e.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Until(deadline)):
			}
		}
	}
	// Hard stop: a component that ignores cancellation must not keep the
	// process (and the caller's test run) alive. Everything of value is
	// throw-away, so exiting with 0 after a note on stderr is safe.
	forceExitAfter := func(d time.Duration, code int) {
		time.AfterFunc(d, func() {
			fmt.Fprintf(userStderr, "controlplane: components did not stop within %s; forcing exit\n", d)
			cleanup()
			os.Exit(code)
		})
	}
	// Exactly one of "signal" or "failure" drives the shutdown; the other
	// path then just waits for the process to exit. (etcd's Err() channel is
	// closed by etcd.Close, so the main select wakes up during a normal stop.)
	var stopping atomic.Bool
	fail := func(name string, err error) {
		if !stopping.CompareAndSwap(false, true) {
			select {}
		}
		forceExitAfter(shutdownTimeout, exitFailure)
		klog.Errorf("%s failed: %v", name, err)
		shutdown()
		tail := logTail(cfg.logFile, 30)
		cleanup()
		fmt.Fprintf(userStderr, "controlplane: %s failed: %v\n", name, err)
		if tail != "" {
			fmt.Fprintf(userStderr, "controlplane: last lines of the log:\n%s", tail)
		}
		os.Exit(exitFailure)
	}
	go func() {
		<-sigCh
		if !stopping.CompareAndSwap(false, true) {
			return // a failure is already being handled
		}
		klog.Info("signal received, shutting down")
		forceExitAfter(shutdownTimeout, exitOK)
		shutdown()
		cleanup()
		os.Exit(exitOK)
	}()

	// 1. etcd starts in the background while PKI and options are prepared.
	type etcdResult struct {
		e   *embed.Etcd
		err error
	}
	etcdCh := make(chan etcdResult, 1)
	go func() {
		e, err := startEtcd(filepath.Join(cfg.dataDir, "etcd"), cfg.etcdClientPort, cfg.etcdPeerPort, etcdLogOut)
		etcdCh <- etcdResult{e, err}
	}()

	// 2. PKI and kubeconfigs.
	p := newPKIPaths(filepath.Join(cfg.dataDir, "pki"))
	if !p.complete() {
		if err := generatePKI(p); err != nil {
			fail("pki", err)
		}
	}
	server := "https://127.0.0.1:" + strconv.Itoa(cfg.apiServerPort)
	adminKubeconfig := filepath.Join(cfg.dataDir, "kubeconfig")
	kcmKubeconfig := filepath.Join(cfg.dataDir, "controller-manager.kubeconfig")
	schedKubeconfig := filepath.Join(cfg.dataDir, "scheduler.kubeconfig")
	schedConfig := filepath.Join(cfg.dataDir, "scheduler-config.yaml")
	for _, k := range []struct{ path, user, crt, key string }{
		{adminKubeconfig, "kubernetes-admin", p.AdminCert, p.AdminKey},
		{kcmKubeconfig, "system:kube-controller-manager", p.ControllerManagerCert, p.ControllerMgrKey},
		{schedKubeconfig, "system:kube-scheduler", p.SchedulerCert, p.SchedulerKey},
	} {
		if err := writeKubeconfig(k.path, server, k.user, p.CACert, k.crt, k.key); err != nil {
			fail("kubeconfig", err)
		}
	}
	if err := writeSchedulerConfig(schedConfig, schedKubeconfig); err != nil {
		fail("kube-scheduler", err)
	}
	if err := writeAuditPolicy(cfg); err != nil {
		fail("kube-apiserver", err)
	}

	// 3. Parse and validate the API server and controller manager options
	// before starting them, so configuration errors fail fast. (The
	// scheduler's Setup talks to the API server, see step 6.)
	prepCtx := context.Background()
	apiOpts, err := prepareAPIServer(prepCtx, apiServerArgs(cfg, p), apiLn)
	if err != nil {
		fail("kube-apiserver", err)
	}
	kcmCfg, err := prepareControllerManager(prepCtx, controllerManagerArgs(cfg, p, kcmKubeconfig))
	if err != nil {
		fail("kube-controller-manager", err)
	}
	klog.Infof("phase: options ready after %s", time.Since(startTime))

	// 4. Wait for etcd.
	er := <-etcdCh
	if er.err != nil {
		fail("etcd", er.err)
	}
	e := er.e
	mu.Lock()
	etcd = e
	mu.Unlock()
	klog.Infof("phase: etcd ready after %s", time.Since(startTime))

	// 5. kube-apiserver; wait for /readyz.
	exits := make(chan componentExit, 4)
	add := func(c *component) {
		mu.Lock()
		components = append(components, c)
		mu.Unlock()
	}
	add(startComponent("kube-apiserver", exits, func(ctx context.Context) error { return runAPIServer(ctx, apiOpts) }))
	if err := waitReady(adminKubeconfig, exits, e); err != nil {
		fail(err.name, err.err)
	}
	klog.Infof("phase: kube-apiserver ready after %s", time.Since(startTime))

	// 6. Controller manager and scheduler, once the API server is ready:
	// both would otherwise sit in API timeouts (the scheduler's Setup does
	// API discovery for its event recorder and waits ~10 s on a listener that
	// is bound but not yet serving; the controller manager gives up after a
	// 10 s healthz wait).
	add(startComponent("kube-controller-manager", exits, func(ctx context.Context) error { return runControllerManager(ctx, kcmCfg) }))
	schedCC, sched, err := prepareScheduler(prepCtx, schedulerArgs(schedConfig))
	if err != nil {
		fail("kube-scheduler", err)
	}
	add(startComponent("kube-scheduler", exits, func(ctx context.Context) error { return runScheduler(ctx, schedCC, sched) }))

	// 6. The one and only stdout line.
	enc := json.NewEncoder(realStdout)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(readyLine{
		Event:      "ready",
		Kubeconfig: adminKubeconfig,
		Server:     server,
		PKI:        p.Dir,
		PID:        os.Getpid(),
		StartupMs:  time.Since(startTime).Milliseconds(),
	})
	klog.Infof("control plane ready in %s", time.Since(startTime))

	// 7. Run until a signal (handled by the goroutine above) or a failure.
	select {
	case ex := <-exits:
		fail(ex.name, ex.err)
	case err := <-e.Err():
		fail("etcd", err)
	}
}

// waitReady polls /readyz with the admin credentials until it answers "ok".
func waitReady(kubeconfig string, exits <-chan componentExit, e *embed.Etcd) *componentExit {
	restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return &componentExit{"kubeconfig", err}
	}
	restCfg.QPS, restCfg.Burst = 100, 100
	restCfg.Timeout = 2 * time.Second
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return &componentExit{"kubeconfig", err}
	}
	timeout := time.After(3 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ex := <-exits:
			return &ex
		case err := <-e.Err():
			return &componentExit{"etcd", err}
		case <-timeout:
			return &componentExit{"kube-apiserver", errors.New("/readyz did not report ok within 3m")}
		case <-tick.C:
			body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
			if err == nil && strings.TrimSpace(string(body)) == "ok" {
				return nil
			}
		}
	}
}

// logTail returns the last n lines of the log file ("" for stderr logging).
func logTail(path string, n int) string {
	if path == "-" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

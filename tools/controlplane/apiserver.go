package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/pflag"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/server/flagz"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// apiServerArgs returns the kube-apiserver command line we run with.
func apiServerArgs(cfg *config, p *pki) []string {
	args := []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(cfg.etcdClientPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(cfg.apiServerPort),
		"--tls-cert-file=" + p.APIServerCert,
		"--tls-private-key-file=" + p.APIServerKey,
		"--client-ca-file=" + p.CACert,
		"--service-account-key-file=" + p.SAPub,
		"--service-account-signing-key-file=" + p.SAKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=Node,RBAC",
		"--kubelet-client-certificate=" + p.KubeletClientCert,
		"--kubelet-client-key=" + p.KubeletClientKey,
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true",
		"--profiling=false",
		// The "kubernetes" Endpoints/EndpointSlice would have to point at
		// 127.0.0.1, which endpoint validation rejects (loopback), so the
		// reconciler would log errors forever. The upstream integration test
		// server does the same for loopback advertise addresses. The Service
		// itself (10.96.0.1) is still created.
		"--endpoint-reconciler-type=none",
		// Default admission plugins are used (no --enable-admission-plugins).
	}
	if cfg.verifyKubeletServing {
		args = append(args, "--kubelet-certificate-authority="+p.CACert)
	}
	if cfg.auditLog != "" {
		args = append(args, "--audit-policy-file="+auditPolicyPath(cfg), "--audit-log-path="+cfg.auditLog,
			"--audit-log-format=json", "--audit-log-mode=blocking")
	}
	return args
}

// prepareAPIServer parses the flags into kube-apiserver's options, completes
// and validates them. ln is the already-bound 127.0.0.1:<port> listener that
// the server takes over (no window in which another process could grab the
// port after our pre-flight check).
func prepareAPIServer(ctx context.Context, args []string, ln net.Listener) (options.CompletedOptions, error) {
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	namedFlagSets := s.Flags()
	s.Flagz = flagz.NamedFlagSetsReader{FlagSets: namedFlagSets}
	for _, f := range namedFlagSets.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return options.CompletedOptions{}, fmt.Errorf("parsing flags: %w", err)
	}
	if ln != nil {
		s.SecureServing.Listener = ln
	}
	// What the cobra PersistentPreRunE does: resolve feature gates and
	// emulation version from the parsed flags. This is the process-wide
	// DefaultComponentGlobalsRegistry, which kube-controller-manager and
	// kube-scheduler share; they find it already set.
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return options.CompletedOptions{}, err
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return options.CompletedOptions{}, err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return options.CompletedOptions{}, utilerrors.NewAggregate(errs)
	}
	return completed, nil
}

// runAPIServer blocks until ctx is cancelled (or the server fails).
func runAPIServer(ctx context.Context, completed options.CompletedOptions) error {
	return app.Run(ctx, completed)
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmconfig "k8s.io/kubernetes/cmd/kube-controller-manager/app/config"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

func controllerManagerArgs(cfg *config, p *pki, kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		// No HTTPS listener (healthz/metrics): parallel instances never
		// collide on 10257.
		"--secure-port=0",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.SAKey,
		"--root-ca-file=" + p.CACert,
		"--cluster-signing-cert-file=" + p.CACert,
		"--cluster-signing-key-file=" + p.CAKey,
		"--cluster-signing-duration=" + cfg.clusterSigningDuration.String(),
		"--node-monitor-period=1s",
		// No validation rule constrains this value (NodeLifecycleControllerOptions.Validate
		// is empty); it only has to exceed the node heartbeat (lease renew) interval
		// of whatever kubelet is used, otherwise nodes flap to NotReady/unreachable.
		"--node-monitor-grace-period=" + cfg.nodeMonitorGracePeriod.String(),
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		// Bound shutdown so SIGTERM completes quickly.
		"--controller-shutdown-timeout=2s",
	}
}

// prepareControllerManager does what the cobra RunE of
// kube-controller-manager does, minus signal handling, logging setup and
// feature-gate metrics (done once for the whole process in main).
func prepareControllerManager(ctx context.Context, args []string) (*kcmconfig.CompletedConfig, error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	all, disabled, aliases := kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases()
	namedFlagSets := s.Flags(all, disabled, aliases)
	s.ParsedFlags = &namedFlagSets
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range namedFlagSets.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("parsing flags: %w", err)
	}
	c, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return nil, err
	}
	return c.Complete(), nil
}

func runControllerManager(ctx context.Context, c *kcmconfig.CompletedConfig) error {
	return kcmapp.Run(ctx, c)
}

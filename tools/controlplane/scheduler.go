package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"k8s.io/client-go/tools/cache"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedconfig "k8s.io/kubernetes/cmd/kube-scheduler/app/config"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler"
)

// writeSchedulerConfig writes the KubeSchedulerConfiguration: the client
// QPS/burst and leader election live there (the equivalent CLI flags are
// deprecated and print warnings).
func writeSchedulerConfig(path, kubeconfig string) error {
	cfg := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 200
  burst: 400
leaderElection:
  leaderElect: false
`, kubeconfig)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

func schedulerArgs(configFile string) []string {
	return []string{
		"--config=" + configFile,
		// No HTTPS listener (healthz/metrics): parallel instances never
		// collide on 10259.
		"--secure-port=0",
	}
}

// prepareScheduler mirrors the scheduler's cobra runCommand, minus signal
// handling and logging setup: app.Setup builds the completed config and the
// scheduler (no API traffic happens until Run).
func prepareScheduler(ctx context.Context, args []string) (*schedconfig.CompletedConfig, *scheduler.Scheduler, error) {
	opts := schedoptions.NewOptions()
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, fmt.Errorf("parsing flags: %w", err)
	}
	informerName, err := cache.NewInformerName("kube-scheduler")
	if err != nil {
		return nil, nil, err
	}
	opts.InformerName = informerName
	return schedapp.Setup(ctx, opts)
}

func runScheduler(ctx context.Context, cc *schedconfig.CompletedConfig, sched *scheduler.Scheduler) error {
	return schedapp.Run(ctx, cc, sched)
}

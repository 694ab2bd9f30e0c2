// Command upstream-vk runs the upstream virtual-kubelet (github.com/virtual-kubelet/virtual-kubelet,
// its node/nodeutil library at the version pinned in go.mod) as a peer in our benchmarks.
//
// Why not upstream's own cmd/virtual-kubelet: it builds (go install works), but it
// has no flag for the client's QPS/burst, so client-go's defaults (5 QPS, burst
// 10) would throttle it and the comparison would measure that throttle. Its mock
// provider lives under cmd/virtual-kubelet/internal and cannot be imported, so
// benchProvider below does what that mock does for the pod lifecycle: CreatePod
// reports the pod Running at once (same status fields), DeletePod reports it
// Succeeded, both through NotifyPods. Unlike upstream's mock it guards its map
// with a mutex (upstream's is unsynchronised and races under several workers).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/sirupsen/logrus"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	logruslogger "github.com/virtual-kubelet/virtual-kubelet/log/logrus"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/api/statsv1alpha1"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	nodeName := flag.String("nodename", "upstream-vk", "name of the virtual node")
	workers := flag.Int("pod-sync-workers", 10, "pod sync workers (upstream cmd default: 10)")
	qps := flag.Float64("kube-api-qps", -1, "client QPS; < 0 disables client-side throttling")
	burst := flag.Int("kube-api-burst", 0, "client burst (only with qps > 0)")
	resync := flag.Duration("full-resync-period", time.Minute, "informer resync period (upstream default: 1m)")
	logLevel := flag.String("log-level", "warn", "logrus level")
	flag.Parse()

	lvl, err := logrus.ParseLevel(*logLevel)
	if err != nil {
		fail(err)
	}
	logrus.SetLevel(lvl)
	log.L = logruslogger.FromLogrus(logrus.NewEntry(logrus.StandardLogger()))

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	cfg.QPS = float32(*qps)
	cfg.Burst = *burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fail(err)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	n, err := nodeutil.NewNode(*nodeName, func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
		pc.Node.Status.Capacity = v1.ResourceList{
			v1.ResourceCPU:    resource.MustParse("100000"),
			v1.ResourceMemory: resource.MustParse("100000Gi"),
			v1.ResourcePods:   resource.MustParse("100000"),
		}
		pc.Node.Status.Allocatable = pc.Node.Status.Capacity
		pc.Node.Status.NodeInfo.KubeletVersion = "v1.29.1-vk-v1.11.0"
		return newBenchProvider(), nil, nil
	}, func(c *nodeutil.NodeConfig) error {
		c.NumWorkers = *workers
		c.InformerResyncPeriod = *resync
		c.HTTPListenAddr = "127.0.0.1:0" // no TLS config given: the kubelet HTTP API is not started
		c.NodeSpec.Spec.Taints = append(c.NodeSpec.Spec.Taints, v1.Taint{Key: "virtual-kubelet.io/provider", Value: "mock", Effect: v1.TaintEffectNoSchedule})
		return nil
	}, nodeutil.WithClient(client))
	if err != nil {
		fail(err)
	}
	go func() { _ = n.Run(ctx) }()
	if err := n.WaitReady(ctx, 2*time.Minute); err != nil {
		fail(err)
	}
	fmt.Printf("{\"event\":\"ready\",\"node\":%q}\n", *nodeName)
	select {
	case <-ctx.Done():
	case <-n.Done():
		if err := n.Err(); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "upstream-vk: %v\n", err)
	os.Exit(1)
}

type benchProvider struct {
	mu       sync.Mutex
	pods     map[string]*v1.Pod
	notifier func(*v1.Pod)
}

func newBenchProvider() *benchProvider {
	return &benchProvider{pods: map[string]*v1.Pod{}}
}

func key(namespace, name string) string { return namespace + "/" + name }

func (p *benchProvider) CreatePod(_ context.Context, pod *v1.Pod) error {
	now := metav1.NewTime(time.Now())
	pod.Status = v1.PodStatus{
		Phase: v1.PodRunning, HostIP: "1.2.3.4", PodIP: "5.6.7.8", StartTime: &now,
		Conditions: []v1.PodCondition{
			{Type: v1.PodInitialized, Status: v1.ConditionTrue},
			{Type: v1.PodReady, Status: v1.ConditionTrue},
			{Type: v1.PodScheduled, Status: v1.ConditionTrue},
		},
	}
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true,
			State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}},
		})
	}
	p.mu.Lock()
	p.pods[key(pod.Namespace, pod.Name)] = pod
	notify := p.notifier
	p.mu.Unlock()
	notify(pod)
	return nil
}

func (p *benchProvider) UpdatePod(_ context.Context, pod *v1.Pod) error {
	p.mu.Lock()
	p.pods[key(pod.Namespace, pod.Name)] = pod
	notify := p.notifier
	p.mu.Unlock()
	notify(pod)
	return nil
}

func (p *benchProvider) DeletePod(_ context.Context, pod *v1.Pod) error {
	p.mu.Lock()
	_, ok := p.pods[key(pod.Namespace, pod.Name)]
	delete(p.pods, key(pod.Namespace, pod.Name))
	notify := p.notifier
	p.mu.Unlock()
	if !ok {
		return errdefs.NotFound("pod not found")
	}
	now := metav1.Now()
	pod.Status.Phase = v1.PodSucceeded
	pod.Status.Reason = "MockProviderPodDeleted"
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		started := now
		if cs.State.Running != nil {
			started = cs.State.Running.StartedAt
		}
		cs.Ready = false
		cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{FinishedAt: now, StartedAt: started, Reason: "MockProviderPodContainerDeleted"}}
	}
	notify(pod)
	return nil
}

func (p *benchProvider) GetPod(_ context.Context, namespace, name string) (*v1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pod, ok := p.pods[key(namespace, name)]; ok {
		return pod, nil
	}
	return nil, errdefs.NotFoundf("pod %q is not known to the provider", key(namespace, name))
}

func (p *benchProvider) GetPodStatus(ctx context.Context, namespace, name string) (*v1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

func (p *benchProvider) GetPods(context.Context) ([]*v1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*v1.Pod, 0, len(p.pods))
	for _, pod := range p.pods {
		out = append(out, pod)
	}
	return out, nil
}

// NotifyPods makes the pod controller take status from the provider's callback (the async path upstream's mock uses).
func (p *benchProvider) NotifyPods(_ context.Context, notifier func(*v1.Pod)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notifier = notifier
}

func (p *benchProvider) GetContainerLogs(context.Context, string, string, string, api.ContainerLogOpts) (io.ReadCloser, error) {
	return nil, errdefs.NotFound("no logs in the bench provider")
}
func (p *benchProvider) RunInContainer(context.Context, string, string, string, []string, api.AttachIO) error {
	return errdefs.NotFound("no exec in the bench provider")
}
func (p *benchProvider) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	return errdefs.NotFound("no attach in the bench provider")
}
func (p *benchProvider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return &statsv1alpha1.Summary{}, nil
}
func (p *benchProvider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, nil
}
func (p *benchProvider) PortForward(context.Context, string, string, int32, io.ReadWriteCloser) error {
	return errdefs.NotFound("no port-forward in the bench provider")
}

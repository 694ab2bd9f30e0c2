// Command upstream-vk runs the upstream virtual-kubelet (github.com/virtual-kubelet/virtual-kubelet,
// its node library at the version pinned in go.mod) as a peer in our benchmarks.
//
// Why not upstream's own cmd/virtual-kubelet: it has no flag for the client's
// QPS/burst, so client-go's defaults (5 QPS, burst 10) would throttle it and the
// comparison would measure that throttle; nor for the pod controller's queue
// rate limiters (see --queue-rate-limit). Its mock
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
	"path"
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
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	nodeName := flag.String("nodename", "upstream-vk", "name of the virtual node")
	workers := flag.Int("pod-sync-workers", 10, "pod sync workers (upstream cmd default: 10)")
	qps := flag.Float64("kube-api-qps", -1, "client QPS; < 0 disables client-side throttling")
	burst := flag.Int("kube-api-burst", 0, "client burst (only with qps > 0)")
	resync := flag.Duration("full-resync-period", time.Minute, "informer resync period (upstream default: 1m)")
	queueRateLimit := flag.Bool("queue-rate-limit", true, "keep the pod controller's default workqueue rate limiter "+
		"(client-go DefaultControllerRateLimiter: per-item backoff plus an overall 10/s, burst 100 bucket); "+
		"false keeps only the per-item backoff")
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

	// The same wiring as nodeutil.NewNode + Node.Run, which offer no way to
	// set the pod controller's queue rate limiters.
	podInformers := informers.NewSharedInformerFactoryWithOptions(client, *resync, nodeutil.PodInformerFilter(*nodeName))
	scmInformers := informers.NewSharedInformerFactoryWithOptions(client, *resync)
	eb := record.NewBroadcaster()
	eb.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: client.CoreV1().Events(v1.NamespaceAll)})
	defer eb.Shutdown()
	pcCfg := node.PodControllerConfig{
		PodClient:         client.CoreV1(),
		EventRecorder:     eb.NewRecorder(scheme.Scheme, v1.EventSource{Component: path.Join(*nodeName, "pod-controller")}),
		Provider:          newBenchProvider(),
		PodInformer:       podInformers.Core().V1().Pods(),
		SecretInformer:    scmInformers.Core().V1().Secrets(),
		ConfigMapInformer: scmInformers.Core().V1().ConfigMaps(),
		ServiceInformer:   scmInformers.Core().V1().Services(),
	}
	if !*queueRateLimit {
		perItem := func() workqueue.RateLimiter {
			return workqueue.NewItemExponentialFailureRateLimiter(5*time.Millisecond, 1000*time.Second)
		}
		pcCfg.SyncPodsFromKubernetesRateLimiter = perItem()
		pcCfg.DeletePodsFromKubernetesRateLimiter = perItem()
		pcCfg.SyncPodStatusFromProviderRateLimiter = perItem()
	}
	pc, err := node.NewPodController(pcCfg)
	if err != nil {
		fail(err)
	}
	capacity := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse("100000"),
		v1.ResourceMemory: resource.MustParse("100000Gi"),
		v1.ResourcePods:   resource.MustParse("100000"),
	}
	nodeSpec := v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: *nodeName, Labels: map[string]string{
			"type": "virtual-kubelet", "kubernetes.io/role": "agent", "kubernetes.io/hostname": *nodeName,
		}},
		Spec: v1.NodeSpec{Taints: []v1.Taint{{Key: "virtual-kubelet.io/provider", Value: "mock", Effect: v1.TaintEffectNoSchedule}}},
		Status: v1.NodeStatus{
			Phase:       v1.NodePending,
			Capacity:    capacity,
			Allocatable: capacity,
			NodeInfo:    v1.NodeSystemInfo{KubeletVersion: "v1.29.1-vk-v1.11.0", OperatingSystem: "linux", Architecture: "amd64"},
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionFalse}},
		},
	}
	np := node.NewNaiveNodeProvider()
	nc, err := node.NewNodeController(np, &nodeSpec, client.CoreV1().Nodes(),
		node.WithNodeEnableLeaseV1(nodeutil.NodeLeaseV1Client(client), node.DefaultLeaseDuration))
	if err != nil {
		fail(err)
	}

	go podInformers.Start(ctx.Done())
	go scmInformers.Start(ctx.Done())
	go func() { _ = pc.Run(ctx, *workers) }()
	select {
	case <-pc.Ready():
	case <-pc.Done():
		fail(fmt.Errorf("pod controller: %w", pc.Err()))
	}
	go func() { _ = nc.Run(ctx) }()
	select {
	case <-nc.Ready():
	case <-nc.Done():
		fail(fmt.Errorf("node controller: %w", nc.Err()))
	}
	now := metav1.Now()
	nodeSpec.Status.Phase = v1.NodeRunning
	nodeSpec.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
		Message: "Kubelet is ready", LastHeartbeatTime: now, LastTransitionTime: now}}
	if err := np.UpdateStatus(ctx, &nodeSpec); err != nil {
		fail(err)
	}
	fmt.Printf("{\"event\":\"ready\",\"node\":%q}\n", *nodeName)
	select {
	case <-ctx.Done():
	case <-pc.Done():
		fail(fmt.Errorf("pod controller: %w", pc.Err()))
	case <-nc.Done():
		fail(fmt.Errorf("node controller: %w", nc.Err()))
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

func (p *benchProvider) CreatePod(ctx context.Context, pod *v1.Pod) error {
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
	return p.UpdatePod(ctx, pod)
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

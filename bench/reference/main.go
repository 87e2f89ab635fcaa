// Command reference is the controller-runtime half of the Ballast benchmark:
// the same Widget controller as bench/ballast-controller.ts (for each Widget,
// create a ConfigMap it owns, then mark the Widget Ready), and a cache-only
// mode that holds every ConfigMap of a namespace, for the memory figure.
//
// It speaks the same line protocol on stdout/stdin as the TypeScript side, so
// bench/run.ts drives both the same way: "READY" once started, "LAT <ms>" per
// reconcile of a new stamp, and a "STATS {...}" line whenever stdin says
// "stats" (requests counted in its own transport, per client).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

var widgetGVK = schema.GroupVersionKind{Group: "bench.ballast.dev", Version: "v1", Kind: "Widget"}

const stampAnnotation = "bench.ballast.dev/stamp"

// counts is what the process asked of the API server, split the way F4 needs.
type counts struct {
	total, watches, leases, writes atomic.Int64
}

type countingTransport struct {
	next http.RoundTripper
	c    *counts
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.total.Add(1)
	switch {
	case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
		t.c.watches.Add(1)
	case strings.Contains(req.URL.Path, "/leases"):
		t.c.leases.Add(1)
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		t.c.writes.Add(1)
	}
	return t.next.RoundTrip(req)
}

func nowMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

var stdout = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func say(format string, args ...any) {
	stdout.Lock()
	fmt.Fprintf(stdout.w, format+"\n", args...)
	stdout.w.Flush()
	stdout.Unlock()
}

type widgetReconciler struct {
	client client.Client
	seen   sync.Map // key → last stamp reported
}

func (r *widgetReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	started := nowMs()
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	if err := r.client.Get(ctx, req.NamespacedName, w); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if stamp := w.GetAnnotations()[stampAnnotation]; stamp != "" {
		if last, ok := r.seen.Load(req.String()); !ok || last != stamp {
			r.seen.Store(req.String(), stamp)
			say("LAT %s %.3f", stamp, started)
		}
	}

	cm := &corev1.ConfigMap{}
	err := r.client.Get(ctx, types.NamespacedName{Namespace: w.GetNamespace(), Name: w.GetName()}, cm)
	if apierrors.IsNotFound(err) {
		data, _, _ := unstructured.NestedString(w.Object, "spec", "data")
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:      w.GetName(),
				Namespace: w.GetNamespace(),
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: widgetGVK.GroupVersion().String(), Kind: widgetGVK.Kind,
					Name: w.GetName(), UID: w.GetUID(),
					Controller: ptr(true), BlockOwnerDeletion: ptr(true),
				}},
			},
			Data: map[string]string{"data": data},
		}
		if err := r.client.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, err
		}
	} else if err != nil {
		return reconcile.Result{}, err
	}

	ready, _, _ := unstructured.NestedBool(w.Object, "status", "ready")
	observed, _, _ := unstructured.NestedInt64(w.Object, "status", "observedGeneration")
	if ready && observed == w.GetGeneration() {
		return reconcile.Result{}, nil
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"ready": true, "observedGeneration": w.GetGeneration()}})
	err = r.client.Status().Patch(ctx, w, client.RawPatch(types.MergePatchType, patch))
	return reconcile.Result{}, client.IgnoreNotFound(err)
}

func ptr[T any](v T) *T { return &v }

func main() {
	namespace := flag.String("namespace", "default", "the one namespace to watch")
	qps := flag.Float64("qps", 20, "client QPS")
	burst := flag.Int("burst", 30, "client burst")
	workers := flag.Int("workers", 1, "max concurrent reconciles")
	sharedLimiter := flag.Bool("shared-rate-limiter", false,
		"one token bucket for the whole process; by default client-go gives each kind's REST client its own")
	mode := flag.String("mode", "controller", "controller | cache (hold every ConfigMap of the namespace)")
	flag.Parse()
	// controller-runtime registers --kubeconfig itself (pkg/client/config).
	kubeconfig := flag.Lookup("kubeconfig").Value.String()
	log.SetLogger(zap.New(zap.UseDevMode(false), zap.Level(zapcore.ErrorLevel)))

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fail(err)
	}
	cfg.QPS = float32(*qps)
	cfg.Burst = *burst
	if *sharedLimiter {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	cfg.UserAgent = "bench-controller-runtime"
	c := &counts{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, c: c} }

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{*namespace: {}}},
		// Without this, reads of unstructured objects (the Widget) bypass the
		// cache and go to the API server; Ballast reads everything from its cache.
		Client:                 client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
	})
	if err != nil {
		fail(err)
	}
	ctx := ctrl.SetupSignalHandler()

	switch *mode {
	case "controller":
		w := &unstructured.Unstructured{}
		w.SetGroupVersionKind(widgetGVK)
		err = ctrl.NewControllerManagedBy(mgr).
			Named("widget").
			For(w).
			Owns(&corev1.ConfigMap{}).
			WithOptions(controller.Options{MaxConcurrentReconciles: *workers}).
			Complete(&widgetReconciler{client: mgr.GetClient()})
		if err != nil {
			fail(err)
		}
	case "cache":
		if _, err := mgr.GetCache().GetInformer(ctx, &corev1.ConfigMap{}); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown -mode %q", *mode))
	}

	go func() {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return
		}
		if *mode == "cache" {
			list := &corev1.ConfigMapList{}
			if err := mgr.GetCache().List(ctx, list, client.InNamespace(*namespace)); err != nil {
				fail(err)
			}
			runtime.GC()
			say("SYNCED %d", len(list.Items))
		}
		say("READY")
	}()
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if strings.TrimSpace(in.Text()) == "stats" {
				say(`STATS {"total":%d,"watches":%d,"leases":%d,"writes":%d}`,
					c.total.Load(), c.watches.Load(), c.leases.Load(), c.writes.Load())
			}
		}
	}()
	if err := mgr.Start(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reference:", err)
	os.Exit(1)
}

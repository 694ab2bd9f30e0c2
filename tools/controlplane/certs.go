package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/keyutil"
)

// certValidity is how long every generated certificate is valid.
const certValidity = 365 * 24 * time.Hour

// pki holds the paths of every file written under <data-dir>/pki.
type pki struct {
	Dir string

	CACert, CAKey                           string
	APIServerCert, APIServerKey             string
	AdminCert, AdminKey                     string
	KubeletClientCert, KubeletClientKey     string
	ControllerManagerCert, ControllerMgrKey string
	SchedulerCert, SchedulerKey             string
	SAKey, SAPub                            string
}

func newPKIPaths(dir string) *pki {
	p := func(name string) string { return filepath.Join(dir, name) }
	return &pki{
		Dir:    dir,
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		APIServerCert: p("apiserver.crt"), APIServerKey: p("apiserver.key"),
		AdminCert: p("admin.crt"), AdminKey: p("admin.key"),
		KubeletClientCert: p("apiserver-kubelet-client.crt"), KubeletClientKey: p("apiserver-kubelet-client.key"),
		ControllerManagerCert: p("controller-manager.crt"), ControllerMgrKey: p("controller-manager.key"),
		SchedulerCert: p("scheduler.crt"), SchedulerKey: p("scheduler.key"),
		SAKey: p("sa.key"), SAPub: p("sa.pub"),
	}
}

func (p *pki) allFiles() []string {
	return []string{
		p.CACert, p.CAKey, p.APIServerCert, p.APIServerKey, p.AdminCert, p.AdminKey,
		p.KubeletClientCert, p.KubeletClientKey, p.ControllerManagerCert, p.ControllerMgrKey,
		p.SchedulerCert, p.SchedulerKey, p.SAKey, p.SAPub,
	}
}

// complete reports whether every PKI file already exists (a --keep-data
// restart), in which case the PKI is reused so existing kubeconfigs and
// service-account tokens stay valid.
func (p *pki) complete() bool {
	for _, f := range p.allFiles() {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

// firstServiceIP is the first address of --service-cluster-ip-range
// (10.96.0.0/16), i.e. the ClusterIP of the "kubernetes" Service.
var firstServiceIP = net.ParseIP("10.96.0.1")

// generatePKI writes the cluster CA and all leaf certificates/keys.
func generatePKI(p *pki) error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	now := time.Now().Add(-5 * time.Minute) // tolerate small clock skew
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          mustSerial(),
		Subject:               pkix.Name{CommonName: "controlplane-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	if err := writeCertAndKey(p.CACert, p.CAKey, caDER, caKey); err != nil {
		return err
	}

	type leaf struct {
		cert, key string
		subject   pkix.Name
		usage     []x509.ExtKeyUsage
		dns       []string
		ips       []net.IP
	}
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	leaves := []leaf{
		{
			cert: p.APIServerCert, key: p.APIServerKey,
			subject: pkix.Name{CommonName: "kube-apiserver"},
			usage:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			ips: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), firstServiceIP},
		},
		{cert: p.AdminCert, key: p.AdminKey, usage: client,
			subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}}},
		{cert: p.KubeletClientCert, key: p.KubeletClientKey, usage: client,
			subject: pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}}},
		{cert: p.ControllerManagerCert, key: p.ControllerMgrKey, usage: client,
			subject: pkix.Name{CommonName: "system:kube-controller-manager"}},
		{cert: p.SchedulerCert, key: p.SchedulerKey, usage: client,
			subject: pkix.Name{CommonName: "system:kube-scheduler"}},
	}
	for _, l := range leaves {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          mustSerial(),
			Subject:               l.subject,
			NotBefore:             now,
			NotAfter:              now.Add(certValidity),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:           l.usage,
			BasicConstraintsValid: true,
			DNSNames:              l.dns,
			IPAddresses:           l.ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
		if err != nil {
			return fmt.Errorf("signing %s: %w", l.cert, err)
		}
		if err := writeCertAndKey(l.cert, l.key, der, key); err != nil {
			return err
		}
	}

	// Service-account token signing key pair. RSA (RS256) is what every
	// Kubernetes distribution uses and what all token consumers support.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saKeyPEM, err := keyutil.MarshalPrivateKeyToPEM(saKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.SAKey, saKeyPEM, 0o600); err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	return os.WriteFile(p.SAPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

func writeCertAndKey(certPath, keyPath string, der []byte, key crypto.Signer) error {
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return err
	}
	return os.WriteFile(keyPath, keyPEM, 0o600)
}

func mustSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

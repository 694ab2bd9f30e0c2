package main

import (
	"os"
	"path/filepath"
)

// auditPolicy records every write to pods (and their subresources) and nodes
// at Metadata level: the user and user agent, the verb, the object and the
// answer code, never a body. It is what one needs to tell who deleted or
// changed a pod when a test sees it go; reads and other resources are left out
// to keep the file small under a 10,000-pod burst.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
  resources:
  - group: ""
    resources: ["pods", "pods/status", "pods/binding", "pods/eviction", "nodes", "nodes/status"]
- level: None
`

func auditPolicyPath(cfg *config) string {
	return filepath.Join(cfg.dataDir, "audit-policy.yaml")
}

// writeAuditPolicy puts the policy file in the data dir when --audit-log is set.
func writeAuditPolicy(cfg *config) error {
	if cfg.auditLog == "" {
		return nil
	}
	return os.WriteFile(auditPolicyPath(cfg), []byte(auditPolicy), 0o644)
}

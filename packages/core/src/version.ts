/** This project's version; bumped with releases. */
export const PROJECT_VERSION = '0.1.0';

/** The Kubernetes minor this build is developed and tested against. */
export const KUBERNETES_VERSION = 'v1.37.2';

/** What the Node reports as its kubelet version, e.g. `v1.37.2-vk-ts-0.1.0`. */
export const KUBELET_VERSION = `${KUBERNETES_VERSION}-vk-ts-${PROJECT_VERSION}`;

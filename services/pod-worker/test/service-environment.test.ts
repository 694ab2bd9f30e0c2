import assert from 'node:assert/strict';
import { serviceEnvVars } from '../src/service-environment.ts';

describe('service environment variables', () => {
  it('are the kubelet\'s: host, first port, named ports and the Docker-link variables per port', () => {
    assert.deepEqual(serviceEnvVars([
      { name: 'redis-master', clusterIP: '10.0.0.11', ports: [{ port: 6379 }, { name: 'metrics-http', port: 9121, protocol: 'TCP' }] },
    ]), {
      REDIS_MASTER_SERVICE_HOST: '10.0.0.11',
      REDIS_MASTER_SERVICE_PORT: '6379',
      REDIS_MASTER_SERVICE_PORT_METRICS_HTTP: '9121',
      REDIS_MASTER_PORT: 'tcp://10.0.0.11:6379',
      REDIS_MASTER_PORT_6379_TCP: 'tcp://10.0.0.11:6379',
      REDIS_MASTER_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_MASTER_PORT_6379_TCP_PORT: '6379',
      REDIS_MASTER_PORT_6379_TCP_ADDR: '10.0.0.11',
      REDIS_MASTER_PORT_9121_TCP: 'tcp://10.0.0.11:9121',
      REDIS_MASTER_PORT_9121_TCP_PROTO: 'tcp',
      REDIS_MASTER_PORT_9121_TCP_PORT: '9121',
      REDIS_MASTER_PORT_9121_TCP_ADDR: '10.0.0.11',
    });
  });

  it('skip headless Services and those without a cluster IP, and bracket IPv6 addresses in URLs', () => {
    const env = serviceEnvVars([
      { name: 'headless', clusterIP: 'None', ports: [{ port: 80 }] },
      { name: 'external', clusterIP: '', ports: [{ port: 80 }] },
      { name: 'dns', clusterIP: 'fd00::a', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
    ]);
    assert.equal(Object.keys(env).some((k) => k.startsWith('HEADLESS') || k.startsWith('EXTERNAL')), false);
    assert.equal(env.DNS_SERVICE_HOST, 'fd00::a');
    assert.equal(env.DNS_PORT, 'udp://[fd00::a]:53');
    assert.equal(env.DNS_PORT_53_UDP_ADDR, 'fd00::a');
  });
});

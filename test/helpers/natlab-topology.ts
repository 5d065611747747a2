/**
 * Building the NAT lab's pieces with ip, iptables and tc (see natlab.ts for the picture).
 * Each function takes `addNs`, which creates and registers a namespace with the lab.
 */
import { inNs, ip, sysctl, tryInNs } from './natlab-shell.js';

export type AddNs = (name: string) => Promise<void>;

/** A fresh namespace: loopback up, IPv6 off (no link-local noise in ICE), rp_filter off. */
export async function prepareNs(name: string): Promise<void> {
  await ip(name, 'link set lo up');
  await sysctl(name, {
    'net.ipv6.conf.all.disable_ipv6': 1,
    'net.ipv6.conf.default.disable_ipv6': 1,
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.default.rp_filter': 0,
  });
}

/** The internet: a bridge holding the server addresses, and a default route into a black hole. */
export async function buildInternet(addNs: AddNs, inet: string, addresses: readonly string[]): Promise<void> {
  await addNs(inet);
  // It switches, it does not route: traffic between two routers' LANs vanishes.
  await sysctl(inet, { 'net.ipv4.ip_forward': 0 });
  await ip(inet, 'link add br0 type bridge');
  await ip(inet, 'link set br0 up');
  for (const a of addresses) await ip(inet, `addr add ${a}/24 dev br0`);
  // Default route to a neighbour nobody is: frames leave on a veth loop and are discarded, so a
  // send to an unreachable address succeeds silently (as on the internet) instead of ENETUNREACH.
  await ip(inet, 'link add void0 type veth peer name void1');
  await ip(inet, 'link set void0 up');
  await ip(inet, 'link set void1 up');
  await ip(inet, 'neigh add 192.0.2.254 lladdr 02:00:00:00:00:fe dev void0 nud permanent');
  await ip(inet, 'route add default via 192.0.2.254 dev void0 onlink');
}

export interface SitePlan {
  readonly name: string;
  readonly type: 'cone' | 'symmetric' | 'public';
  readonly hosts: readonly string[];
  readonly hostAddresses: readonly string[];
  readonly router: string | undefined;
  readonly publicAddress: string;
}

/** A host with a public address on the internet bridge (no NAT). */
export async function buildPublicSite(
  addNs: AddNs,
  inet: string,
  gateway: string,
  site: SitePlan,
): Promise<void> {
  const host = site.hosts[0]!;
  await addNs(host);
  await ip(inet, `link add p-${site.name} type veth peer name eth0 netns ${host}`);
  await ip(inet, `link set p-${site.name} master br0 up`);
  await ip(host, `addr add ${site.publicAddress}/24 dev eth0`);
  await ip(host, 'link set eth0 up');
  await ip(host, `route add default via ${gateway}`);
  // Empty chains that setFirewall and setLoss fill in.
  const rules = [
    '*filter',
    ':RTCS_FW - [0:0]',
    '-A OUTPUT -o eth0 -j RTCS_FW',
    'COMMIT',
    '*mangle',
    ':RTCS_LOSS - [0:0]',
    '-A POSTROUTING -o eth0 -j RTCS_LOSS',
    '-A PREROUTING -i eth0 -j RTCS_LOSS',
    'COMMIT',
    '',
  ];
  await inNs(host, 'iptables-restore', rules.join('\n'));
}

/** A NAT router (WAN on the internet bridge, LAN bridge) and its hosts. */
export async function buildNatSite(
  addNs: AddNs,
  inet: string,
  gateway: string,
  site: SitePlan,
): Promise<void> {
  const router = site.router!;
  const lan = site.hostAddresses[0]!.replace(/\.\d+$/, '');
  await addNs(router);
  await sysctl(router, { 'net.ipv4.ip_forward': 1 });
  // WAN: one end on the internet bridge, the other in the router; upstream is the internet
  // namespace, which forwards nothing.
  await ip(inet, `link add w-${site.name} type veth peer name wan0 netns ${router}`);
  await ip(inet, `link set w-${site.name} master br0 up`);
  await ip(router, `addr add ${site.publicAddress}/24 dev wan0`);
  await ip(router, 'link set wan0 up');
  await ip(router, `route add default via ${gateway}`);
  // LAN: a bridge with one veth per host.
  await ip(router, 'link add lan type bridge');
  await ip(router, `addr add ${lan}.1/24 dev lan`);
  await ip(router, 'link set lan up');
  for (const [j, host] of site.hosts.entries()) {
    await addNs(host);
    await ip(router, `link add l${j} type veth peer name eth0 netns ${host}`);
    await ip(router, `link set l${j} master lan up`);
    await ip(host, `addr add ${site.hostAddresses[j]}/24 dev eth0`);
    await ip(host, 'link set eth0 up');
    await ip(host, `route add default via ${lan}.1`);
  }
  const masquerade = site.type === 'symmetric' ? 'MASQUERADE --random-fully' : 'MASQUERADE';
  const rules = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':RTCS_FW - [0:0]',
    // A home router: unsolicited packets from the WAN die here, before conntrack confirms them
    // (a confirmed entry would occupy the tuple and MASQUERADE would stop preserving ports).
    '-A INPUT -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -i wan0 -p icmp -j ACCEPT',
    '-A INPUT -i wan0 -j DROP',
    '-A FORWARD -i lan -o lan -j ACCEPT',
    '-A FORWARD -i lan -o wan0 -j RTCS_FW',
    '-A FORWARD -i lan -o wan0 -j ACCEPT',
    '-A FORWARD -i wan0 -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    'COMMIT',
    '*nat',
    `-A POSTROUTING -o wan0 -j ${masquerade}`,
    'COMMIT',
    '*mangle',
    ':RTCS_LOSS - [0:0]',
    '-A POSTROUTING -o wan0 -j RTCS_LOSS',
    '-A PREROUTING -i wan0 -j RTCS_LOSS',
    'COMMIT',
    '',
  ];
  await inNs(router, 'iptables-restore', rules.join('\n'));
}

/** Fill the RTCS_FW chain of `ns`: drop all UDP, or nothing. */
export async function firewallRules(ns: string, dropOutboundUdp: boolean): Promise<void> {
  await inNs(ns, 'iptables -F RTCS_FW');
  if (dropOutboundUdp) await inNs(ns, 'iptables -A RTCS_FW -p udp -j DROP');
}

/** Fill the RTCS_LOSS chain of `ns` with a random drop (iptables statistic; 0 empties it). */
export async function lossRules(ns: string, probability: number): Promise<void> {
  if (!(probability >= 0 && probability < 1)) throw new RangeError('natlab: loss must be in [0, 1)');
  await inNs(ns, 'iptables -t mangle -F RTCS_LOSS');
  if (probability > 0) {
    await inNs(
      ns,
      `iptables -t mangle -A RTCS_LOSS -m statistic --mode random --probability ${probability.toFixed(4)} -j DROP`,
    );
  }
}

/** A token bucket (tc tbf) on a device's egress; 0 removes it. */
export async function shape(ns: string, dev: string, bitsPerSecond: number, queueMs: number): Promise<void> {
  if (bitsPerSecond <= 0) {
    await tryInNs(ns, `tc qdisc del dev ${dev} root`);
    return;
  }
  const burst = Math.max(3000, Math.ceil(bitsPerSecond / 8 / 100)); // at least 10 ms of data, 2 packets
  await inNs(
    ns,
    `tc qdisc replace dev ${dev} root tbf rate ${Math.round(bitsPerSecond)}bit burst ${burst} latency ${queueMs}ms`,
  );
}

/**
 * Slows and then stops password guessing (SMTP AUTH, console sign-in), by client network
 * (lib/client-network.ts: the /24 of an IPv4 address, the /48 of an IPv6 one) and by login from that network. Each failure
 * from a network makes its next answer wait longer (doubling from a quarter of a second, at most
 * five seconds); after `maxFailures` within the lockout period the network, or that login from that
 * network, is refused until the period has passed since its last failure.
 *
 * Why nothing counts a login across networks: sender addresses are public (every From: header
 * prints one), so anything that holds a login back for everyone is a weapon: ten wrong passwords
 * from anywhere would stop the real application (the defect this replaced locked the user out
 * globally). A slowdown per login would be a lesser weapon and no defence: a guesser spread over
 * networks waits side by side on parallel connections, while the application waits on each login.
 * Dovecot's auth penalty, Postfix's anvil and fail2ban count by client address too. What holds
 * against guessing spread over many networks is that each network gets `maxFailures` guesses per
 * period, that every guess costs a password check and the whole process runs at most two at once
 * (lib/password-hash.ts: some tens per second, whatever the logins), and the password rules (10 to
 * 20 characters of three kinds). Each failure is logged with its login and client for monitoring.
 *
 * A success forgives the failures of that login from that network (the owner's typos, since
 * mended), not its network's failures for other logins: an attacker holding one valid login could
 * otherwise wipe its network's count at will.
 *
 * Counts live in this process (each SMTP process counts its own share), in two bounded tables that
 * forget the lowest counts first (lib/bounded-counts.ts), so a flood of fresh logins or networks
 * cannot push out the counts that hold an attacker back. Filling a table at all is slow: entries are
 * only made by failed password checks, which the gate above limits to some tens per second.
 */
import { BoundedCounts } from './bounded-counts.js';
import { clientNetwork } from './client-network.js';
import { KeyedCounts } from './keyed-counts.js';
import { TtlCache } from './ttl-cache.js';

/** How the throttle is set up. */
export interface ThrottleOptions {
  /** Failures within `lockoutMs` after which further attempts are refused. */
  maxFailures: number;
  lockoutMs: number;
  /** Largest number of networks, and of logins by network, remembered (100,000 each by default). */
  maxEntries?: number;
  now?: () => number;
}

/** How long a network a login succeeded from stays known. */
const KNOWN_MS = 24 * 3_600_000;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
/** Longer than any address (RFC 5321 §4.5.3.1: 254); a longer login is counted by its start. */
const LOGIN_KEY_LENGTH = 320;

/** Where a login attempt stands before its password is checked. */
export type Standing = { kind: 'ok'; delayMs: number } | { kind: 'locked'; who: 'network' | 'login' };

/** An attempt under way (begun after a standing of ok): counted until it ends, whichever way (once). */
export interface AuthAttempt {
  failed(): void;
  succeeded(): void;
  /** Ended without a verdict (the check could not run): nothing is counted. */
  abandoned(): void;
}

/** Failure counts by client network and by login from a network. */
export class AuthThrottle {
  private readonly networks: BoundedCounts<string>;
  /** Keyed `network login` (a network never holds a space). */
  private readonly logins: BoundedCounts<string>;
  /** Attempts under way, by network and by `network login` (bounded by the connections open). */
  private readonly underWay = new KeyedCounts<string>();
  /**
   * Networks a login succeeded from lately: their password checks are never turned away by a full
   * line and go ahead, taking every other turn (lib/password-hash.ts), so a flood spread over many
   * networks that fills the line cannot lock out the applications that log in every day. Only a
   * correct password of an account that is not suspended puts a network here.
   */
  private readonly known: TtlCache<string, true>;

  constructor(private readonly o: ThrottleOptions) {
    const table = { ttlMs: o.lockoutMs, maxEntries: o.maxEntries ?? 100_000, top: o.maxFailures };
    this.networks = new BoundedCounts(table, o.now ?? Date.now);
    this.logins = new BoundedCounts(table, o.now ?? Date.now);
    this.known = new TtlCache({ ttlMs: KNOWN_MS, maxEntries: o.maxEntries ?? 100_000 }, o.now ?? Date.now);
  }

  /**
   * Whether an attempt from `address` as `login` may go on, and how long its answer waits. Attempts
   * under way count as failures until they end: a client opening many connections at once and
   * sending AUTH on each gets no more checks than one that waits for each answer.
   */
  standing(address: string, login: string): Standing {
    const network = clientNetwork(address);
    const key = loginKey(network, login);
    const n = this.networks.get(network) + this.underWay.get(network);
    const l = this.logins.get(key) + this.underWay.get(key);
    if (n >= this.o.maxFailures) return { kind: 'locked', who: 'network' };
    if (l >= this.o.maxFailures) return { kind: 'locked', who: 'login' };
    // The login's count matters too when its network's entry was forgotten first.
    const failures = Math.max(n, l);
    return { kind: 'ok', delayMs: failures === 0 ? 0 : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures - 1)) };
  }

  /** Counts an attempt under way (see standing) until it ends. */
  begin(address: string, login: string): AuthAttempt {
    const network = clientNetwork(address);
    const keys = [network, loginKey(network, login)];
    for (const k of keys) this.underWay.add(k);
    let ended = false;
    const end = (verdict: () => void): void => {
      if (ended) return;
      ended = true;
      for (const k of keys) this.underWay.subtract(k);
      verdict();
    };
    return {
      failed: () => end(() => this.failed(address, login)),
      succeeded: () => end(() => this.succeeded(address, login)),
      abandoned: () => end(() => {}),
    };
  }

  /** Counts a failed attempt against the network and the login from it. */
  failed(address: string, login: string): void {
    const network = clientNetwork(address);
    this.networks.add(network);
    this.logins.add(loginKey(network, login));
  }

  /** Whether a login succeeded from the network of `address` lately (see `known`). */
  isKnown(address: string): boolean {
    return this.known.get(clientNetwork(address)) === true;
  }

  /** Forgives the failures of `login` from this network, which has just shown it holds the password. */
  succeeded(address: string, login: string): void {
    const network = clientNetwork(address);
    this.known.set(network, true);
    const key = loginKey(network, login);
    this.networks.subtract(network, this.logins.get(key));
    this.logins.delete(key);
  }
}

function loginKey(network: string, login: string): string {
  return `${network} ${login.toLowerCase().slice(0, LOGIN_KEY_LENGTH)}`;
}

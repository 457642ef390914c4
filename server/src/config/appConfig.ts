import type { PasswordPolicy } from '../auth/passwordPolicy.js';
import { defaultDeadlineDays } from '../domain/noticeValidation.js';
import { noticeTypes, type NoticeType } from '../domain/procedureTypes.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import cron from 'node-cron';
import { isValidMunicipalityCode } from '../domain/addresseeNo.js';
import { loadYaml, type ConfigIssue, ConfigError } from './yamlFile.js';

export interface Counter {
  id: string;
  name: string;
  section: string;
  number?: number;
}

export interface OpeningHours {
  regular: { days: Weekday[]; open: string; close: string }[];
  special: { date: string; open: string; close: string; note?: string }[];
  closedDates: string[];
}
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface MssqlSettings {
  server: string;
  port: number;
  database: string;
  user: string;
  /** Name of the environment variable that holds the password. */
  passwordEnv?: string;
  /** A file outside the repository that holds the password. */
  passwordFile?: string;
  encrypt: boolean;
  trustServerCertificate: boolean;
  caFile?: string;
  instanceName?: string;
}

export interface DatabaseSettings {
  client: 'sqlite' | 'mssql';
  sqlite: { file: string };
  mssql?: MssqlSettings;
}

export type Sidecar = 'none' | 'done' | 'md5';

export interface SpecSettings {
  /** The daily file should have arrived by this time (HH:MM, Japan time); a warning otherwise. */
  expectedBy?: string;
  /** On which days the file is expected: business days (not Sat/Sun or closedDates) or every day. */
  expectedOn: 'businessDays' | 'everyDay';
  encoding?: 'auto' | 'utf8' | 'cp932';
  sidecar?: Sidecar;
}

/** `HH:MM`–`HH:MM` in Japan time on the given weekdays (0 = Sunday); `to` may be `24:00`. */
export interface ServiceHours {
  from: string;
  to: string;
  weekdays?: number[];
}

export interface LinkageSettings {
  dropDir: string;
  gaijiMap?: string;
  encoding: 'auto' | 'utf8' | 'cp932';
  /** What CP932's 〜 − ‖ ¢ £ ¬ become: `jis` (U+301C …, as in UTF-8 standard files) or `microsoft` (U+FF5E …). */
  cp932Mapping: 'jis' | 'microsoft';
  /** A file with more bad rows than either limit is quarantined; below both, bad rows are skipped. */
  rejectThreshold: { maxRows: number; maxRatio: number };
  /** A full file that drops more than `maxShare` of the rows AND more than `minRows` rows is held for an administrator. */
  shrinkGuard: { maxShare: number; minRows: number };
  watch: { usePolling: boolean; pollIntervalMs: number; stableMs: number };
  sidecar: Sidecar;
  archiveDays: number;
  /** /healthz warns when the newest file taken in is older than this (covers a long weekend). */
  maxAgeHours: number;
  specs: Record<string, SpecSettings>;
}

/** The UPS as upsd (NUT) serves it; upsmon owns the shutdown, the server only reads the status. */
export interface UpsSettings {
  enabled: boolean;
  /** The UPS name in upsd's ups.conf. */
  name: string;
  host: string;
  port: number;
  username?: string;
  /** Name of the environment variable that holds the upsd password (never the password itself). */
  passwordEnv?: string;
  /** The graceful stop's budget; must stay well under upsmon's FINALDELAY and systemd's TimeoutStopSec. */
  stopBudgetSeconds: number;
}

/** Several app nodes on one database (docs/architecture.md, "Several app nodes"). */
export interface ClusterSettings {
  /** This node's name in the lease table; null = `<hostname>:<port>`. Unique per node. */
  nodeId: string | null;
  /** How long a lease lasts without renewal: a dead holder's work moves to another node within it. */
  leaseSeconds: number;
}

/** Nightly verified backups (docs/operations.md §3). */
export interface BackupSettings {
  /** Folder for the backups, relative to the data directory: a second disk or the standby server's share. */
  target: string;
  /** node-cron expression in Japan time, outside counter hours; null = no scheduled backups. */
  schedule: string | null;
  keepGenerations: number;
  keepBusinessDays: number;
  /** The dashboard and /healthz call the newest backup stale after this many hours. */
  maxAgeHours: number;
  includeEvidence: boolean;
  /** SQL Server: `disk` is the folder as SQL Server sees it (default: target); COPY_ONLY by default. */
  mssql?: { disk?: string; copyOnly: boolean };
}

/**
 * Disk health (ops/diskMonitor.ts): Linux md's /proc/mdstat, `smartctl` per device and a RAID
 * controller's CLI, run every `intervalMinutes` in the server. A source left out (null, or no
 * devices) is not monitored; one configured but failing is reported as unknown (a warning).
 */
export interface DiskSettings {
  intervalMinutes: number;
  /** Deadline of each command (smartctl on a dying disk can hang). */
  timeoutSeconds: number;
  /** Read when it exists and lists arrays (no md driver or no arrays: not monitored). */
  mdstat: string | null;
  /**
   * argv without the device (`smartctl -j -H -A`); each device is appended. A device may also be
   * a recording that a root timer writes (`command: [cat]`: the hardened service cannot reach the
   * disks); `maxAgeMinutes` then refuses a report older than that by its own local_time.
   */
  smart: { command: string[]; devices: string[]; maxAgeMinutes: number | null } | null;
  /** argv of the controller's CLI and the format of what it prints. */
  controller: { command: string[]; format: 'storcli-json' } | null;
}

/**
 * Login throttling (docs/security.md「ログイン」): one client address is slowed first (429 for a
 * while), and an account is locked only after many failures from several addresses, so that one
 * address can never lock someone else's account.
 */
export interface LockoutSettings {
  /** Failed logins from one client address within `windowMinutes` before it gets 429 (any login id). */
  address: { maxFailures: number; windowMinutes: number };
  /** Failures on one login id within `windowMinutes`, from at least `minAddresses` addresses, lock it. */
  account: { maxFailures: number; minAddresses: number; windowMinutes: number };
}

export interface AuthConfig {
  idleMinutes: number;
  /** The absolute lifetime of a session, however busy it is. */
  sessionMaxHours: number;
  lockout: LockoutSettings;
  /** Deprecated since the login throttle (`lockout`); accepted in old files and ignored. */
  lockoutAfter?: number;
  password: PasswordPolicy;
}

export interface AppConfig {
  municipality: { name: string; nameKana: string; code: string; prefecture: string; county?: string };
  /** `digits`: the core system's fixed width of 宛名番号/世帯番号 (linkage files check it); unset = up to 15. */
  addresseeNo: { checkDigitRemainderOne: number; digits?: number };
  counters: Counter[];
  openingHours: OpeningHours;
  database: DatabaseSettings;
  linkage: LinkageSettings;
  logging: { level: 'error' | 'warn' | 'info' | 'debug'; retainDays: number };
  /** Audit trail: retention, and the append-only anchor file outside the database (relative to the data directory). */
  audit: { retentionYears: number; anchorFile: string };
  /** Accepted notices as CSV for the core system (000 §9-2): folder under the data dir, encoding, schedule. */
  backwardLinkage: { csvDir: string; encoding: 'utf8' | 'cp932'; schedule: string | null };
  /** Entry into the core system's screens by RPA agents: scenario folder, leases, retries, evidence. */
  rpa: {
    coreSystem: string;
    leaseSeconds: number;
    maxAttempts: number;
    backoffSeconds: number;
    evidenceRetentionDays: number;
    /** When agents may enter into the core system (JST); none = always. Outside, no job is leased (the night batch). */
    serviceHours?: ServiceHours;
    /** A succeeded job with no 異動履歴 row (001o009) after this many business days is flagged 連携に現れない (rpa/reconcile.ts). */
    notSeenAfterBusinessDays: number;
    /**
     * Further core systems (e.g. the 税システム for 所得・課税証明), by the name of their scenario
     * folder; `coreSystem` is the first. A job goes to the system whose folder has its scenario;
     * an agent serves the one system named in its agent.yaml.
     */
    systems: Record<string, { title: string; serviceHours?: ServiceHours }>;
  };
  /** Fonts for printed forms (IPAmj明朝 for names and addresses, a Gothic for labels). */
  printing: { fonts: { mincho: string; gothic: string } };
  /** Deadlines of notices in days from the effective date (late notices warn). */
  notices: { deadlineDays: Partial<Record<NoticeType, number>> };
  auth: AuthConfig;
  /** HTTPS with the internal CA's certificate; without it, plain HTTP (demo on localhost only). */
  http: { tls?: { cert: string; key: string }; redirectPort?: number };
  ups: UpsSettings;
  backup: BackupSettings;
  disks: DiskSettings;
  cluster: ClusterSettings;
  /** Remote maintenance log: where sudo writes the maintenance users' commands (the maintenance_vpn role sets it up). */
  maintenance: { sudoLog: string };
  /** The standby server's shipping (roles and the peer live in `<data-dir>/standby/state.json`, not here). */
  standby: StandbySettings;
}

/** How the primary ships to the standby (server/src/standby/). */
export interface StandbySettings {
  /** A consistent snapshot of the database is shipped this often (RPO: about twice this). */
  intervalSeconds: number;
  /** Configuration, RPA evidence and the audit anchor file are mirrored this often. */
  filesIntervalSeconds: number;
  /** How long accepting a notice waits for the standby to acknowledge a state holding it; then the acceptance goes on and shipping is marked degraded. */
  syncTimeoutMs: number;
}

const time = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;
const date = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } as const;
const weekday = { type: 'string', enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] } as const;
/** When agents may enter into a core system (rpa.serviceHours, and each of rpa.systems). */
const serviceHoursSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: time,
    to: { type: 'string', pattern: '^([01][0-9]|2[0-4]):[0-5][0-9]$' },
    weekdays: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 0, maximum: 6 } },
  },
} as const;

export const appConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['municipality', 'counters', 'openingHours', 'database'],
  properties: {
    municipality: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'nameKana', 'code', 'prefecture'],
      properties: {
        name: { type: 'string', minLength: 1 },
        nameKana: { type: 'string', pattern: '^[ァ-ヶー・　 ]+$' },
        code: { type: 'string', pattern: '^[0-9]{6}$' },
        prefecture: { type: 'string', minLength: 2 },
        county: { type: 'string' },
      },
    },
    addresseeNo: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        checkDigitRemainderOne: { type: 'integer', minimum: 0, maximum: 9, default: 0 },
        digits: { type: 'integer', minimum: 1, maximum: 15 },
      },
    },
    counters: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'section'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
          name: { type: 'string', minLength: 1 },
          section: { type: 'string', minLength: 1 },
          number: { type: 'integer', minimum: 1 },
        },
      },
    },
    openingHours: {
      type: 'object',
      additionalProperties: false,
      required: ['regular'],
      properties: {
        regular: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['days', 'open', 'close'],
            properties: { days: { type: 'array', minItems: 1, items: weekday }, open: time, close: time },
          },
        },
        special: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['date', 'open', 'close'],
            properties: { date, open: time, close: time, note: { type: 'string' } },
          },
        },
        closedDates: { type: 'array', default: [], items: date },
      },
    },
    database: {
      type: 'object',
      additionalProperties: false,
      required: ['client'],
      properties: {
        client: { type: 'string', enum: ['sqlite', 'mssql'] },
        sqlite: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { file: { type: 'string', minLength: 1, default: 'madoguchi.sqlite' } },
        },
        mssql: {
          type: 'object',
          additionalProperties: false,
          required: ['server', 'database', 'user'],
          properties: {
            server: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 1, maximum: 65535, default: 1433 },
            database: { type: 'string', minLength: 1 },
            user: { type: 'string', minLength: 1 },
            passwordEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
            passwordFile: { type: 'string', minLength: 1 },
            encrypt: { type: 'boolean', default: true },
            trustServerCertificate: { type: 'boolean', default: false },
            caFile: { type: 'string' },
            instanceName: { type: 'string' },
          },
        },
      },
    },
    linkage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dropDir: { type: 'string', minLength: 1, default: 'linkage' },
        gaijiMap: { type: 'string', minLength: 1 },
        encoding: { type: 'string', enum: ['auto', 'utf8', 'cp932'], default: 'auto' },
        cp932Mapping: { type: 'string', enum: ['jis', 'microsoft'], default: 'jis' },
        rejectThreshold: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            maxRows: { type: 'integer', minimum: 0, default: 10 },
            maxRatio: { type: 'number', minimum: 0, maximum: 1, default: 0.001 },
          },
        },
        shrinkGuard: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            maxShare: { type: 'number', minimum: 0, maximum: 1, default: 0.02 },
            minRows: { type: 'integer', minimum: 0, default: 10 },
          },
        },
        watch: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            usePolling: { type: 'boolean', default: false },
            pollIntervalMs: { type: 'integer', minimum: 100, default: 2000 },
            stableMs: { type: 'integer', minimum: 100, default: 2000 },
          },
        },
        sidecar: { type: 'string', enum: ['none', 'done', 'md5'], default: 'none' },
        archiveDays: { type: 'integer', minimum: 1, default: 30 },
        maxAgeHours: { type: 'integer', minimum: 1, maximum: 744, default: 96 },
        specs: {
          type: 'object',
          default: {},
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              expectedBy: time,
              expectedOn: { type: 'string', enum: ['businessDays', 'everyDay'], default: 'businessDays' },
              encoding: { type: 'string', enum: ['auto', 'utf8', 'cp932'] },
              sidecar: { type: 'string', enum: ['none', 'done', 'md5'] },
            },
          },
        },
      },
    },
    cluster: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        nodeId: { type: ['string', 'null'], pattern: '^[A-Za-z0-9_.:-]{1,100}$', default: null },
        leaseSeconds: { type: 'integer', minimum: 2, maximum: 600, default: 30 },
      },
    },
    maintenance: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        sudoLog: { type: 'string', minLength: 1, default: '/var/log/madoguchi-maintenance/sudo.log' },
      },
    },
    backup: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        target: { type: 'string', minLength: 1, default: 'backups' },
        schedule: { type: ['string', 'null'], default: '15 22 * * *' },
        keepGenerations: { type: 'integer', minimum: 1, maximum: 366, default: 7 },
        keepBusinessDays: { type: 'integer', minimum: 1, maximum: 60, default: 2 },
        maxAgeHours: { type: 'integer', minimum: 1, maximum: 24 * 14, default: 26 },
        includeEvidence: { type: 'boolean', default: true },
        mssql: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { disk: { type: 'string', minLength: 1 }, copyOnly: { type: 'boolean', default: true } },
        },
      },
    },
    standby: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        intervalSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 5 },
        filesIntervalSeconds: { type: 'integer', minimum: 5, maximum: 3600, default: 60 },
        syncTimeoutMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 5000 },
      },
    },
    ups: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', default: 'ups' },
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 3493 },
        username: { type: 'string', minLength: 1 },
        passwordEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
        stopBudgetSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 20 },
      },
    },
    disks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // Fractions are for tests (0.05 = 3 s); a day at most.
        intervalMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 1440, default: 5 },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 600, default: 30 },
        mdstat: { type: ['string', 'null'], minLength: 1, default: '/proc/mdstat' },
        smart: {
          type: ['object', 'null'],
          additionalProperties: false,
          default: {},
          properties: {
            command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, default: ['smartctl', '-j', '-H', '-A'] },
            devices: { type: 'array', default: [], uniqueItems: true, items: { type: 'string', pattern: '^/[A-Za-z0-9/_.:-]+$' } },
            maxAgeMinutes: { type: ['integer', 'null'], minimum: 1, maximum: 1440, default: null },
          },
        },
        controller: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['command', 'format'],
          default: null,
          properties: {
            command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            format: { type: 'string', enum: ['storcli-json'] },
          },
        },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          properties: { cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } },
        },
        redirectPort: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        idleMinutes: { type: 'integer', minimum: 1, maximum: 480, default: 30 },
        sessionMaxHours: { type: 'integer', minimum: 1, maximum: 24, default: 12 },
        lockout: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            address: {
              type: 'object',
              additionalProperties: false,
              default: {},
              properties: {
                maxFailures: { type: 'integer', minimum: 3, maximum: 100, default: 10 },
                windowMinutes: { type: 'integer', minimum: 1, maximum: 1440, default: 15 },
              },
            },
            account: {
              type: 'object',
              additionalProperties: false,
              default: {},
              properties: {
                maxFailures: { type: 'integer', minimum: 5, maximum: 1000, default: 20 },
                // At least 2: one address alone can never lock an account.
                minAddresses: { type: 'integer', minimum: 2, maximum: 100, default: 3 },
                windowMinutes: { type: 'integer', minimum: 1, maximum: 10080, default: 60 },
              },
            },
          },
        },
        // Replaced by `lockout`; still accepted so that an older municipality.yaml loads.
        lockoutAfter: { type: 'integer', minimum: 1, maximum: 20 },
        password: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            minLength: { type: 'integer', minimum: 8, maximum: 128, default: 12 },
            minClasses: { type: 'integer', minimum: 1, maximum: 4, default: 3 },
            historyCount: { type: 'integer', minimum: 0, maximum: 24, default: 5 },
            maxAgeDays: { type: 'integer', minimum: 0, maximum: 3650, default: 0 },
          },
        },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        retentionYears: { type: 'integer', minimum: 1, maximum: 30, default: 5 },
        anchorFile: { type: 'string', minLength: 1, default: 'audit-anchors.log' },
      },
    },
    backwardLinkage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        csvDir: { type: 'string', minLength: 1, default: 'export/notices' },
        encoding: { type: 'string', enum: ['utf8', 'cp932'], default: 'utf8' },
        schedule: { type: ['string', 'null'], default: '30 17 * * 1-5' },
      },
    },
    rpa: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        coreSystem: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', default: 'sim' },
        leaseSeconds: { type: 'integer', minimum: 5, maximum: 3600, default: 120 },
        maxAttempts: { type: 'integer', minimum: 1, maximum: 20, default: 3 },
        backoffSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 60 },
        evidenceRetentionDays: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
        notSeenAfterBusinessDays: { type: 'integer', minimum: 1, maximum: 30, default: 2 },
        systems: {
          type: 'object',
          default: {},
          propertyNames: { pattern: '^[A-Za-z0-9_-]+$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['title'],
            properties: {
              title: { type: 'string', minLength: 1, maxLength: 40 },
              serviceHours: serviceHoursSchema,
            },
          },
        },
        serviceHours: serviceHoursSchema,
      },
    },
    printing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        fonts: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            mincho: { type: 'string', minLength: 1, default: '/usr/share/fonts/truetype/ipamj/ipamjm.ttf' },
            gothic: { type: 'string', minLength: 1, default: '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf' },
          },
        },
      },
    },
    notices: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        deadlineDays: {
          type: 'object',
          default: { ...defaultDeadlineDays },
          propertyNames: { enum: [...noticeTypes] },
          additionalProperties: { type: 'integer', minimum: 1, maximum: 365 },
        },
      },
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { type: 'string', enum: ['error', 'warn', 'info', 'debug'], default: 'info' },
        retainDays: { type: 'integer', minimum: 1, maximum: 3650, default: 400 },
      },
    },
  },
} as const;

export const MUNICIPALITY_FILE = 'municipality.yaml';

export function loadAppConfig(configDir: string): AppConfig {
  const file = path.join(configDir, MUNICIPALITY_FILE);
  return loadYaml<AppConfig>(file, appConfigSchema, (cfg, src) => {
    const issues: ConfigIssue[] = [];
    if (!isValidMunicipalityCode(cfg.municipality.code)) {
      issues.push(src.issue(['municipality', 'code'], `全国地方公共団体コードの検査数字が合いません (${cfg.municipality.code})`));
    }
    const seen = new Set<string>();
    cfg.counters.forEach((c, i) => {
      if (seen.has(c.id)) issues.push(src.issue(['counters', i, 'id'], `窓口 ID が重複しています (${c.id})`));
      seen.add(c.id);
    });
    cfg.openingHours.regular.forEach((r, i) => {
      if (r.open >= r.close) issues.push(src.issue(['openingHours', 'regular', i, 'close'], `閉庁時刻 ${r.close} が開庁時刻 ${r.open} より前です`));
    });
    if (cfg.database.client === 'mssql') {
      const m = cfg.database.mssql;
      if (!m) issues.push(src.issue(['database'], 'client が mssql のときは mssql の設定が必要です'));
      else if (!m.passwordEnv && !m.passwordFile)
        issues.push(src.issue(['database', 'mssql'], 'パスワードの取得先 (passwordEnv または passwordFile) が必要です。パスワード自体は設定ファイルに書けません'));
    }
    if (cfg.backup.schedule !== null && !cron.validate(cfg.backup.schedule)) issues.push(src.issue(['backup', 'schedule'], `cron の書き方が正しくありません (${cfg.backup.schedule})。例: '15 22 * * *' (毎日 22:15)`));
    if (cfg.ups.passwordEnv && !cfg.ups.username) issues.push(src.issue(['ups', 'passwordEnv'], 'ups.passwordEnv を使うときは ups.username も指定してください'));
    return issues;
  });
}

/** Reads the SQL Server password from the environment or a file; never from committed config. */
export function resolveMssqlPassword(m: MssqlSettings, env: NodeJS.ProcessEnv = process.env): string {
  if (m.passwordEnv) {
    const v = env[m.passwordEnv];
    if (v) return v;
    if (!m.passwordFile) throw new ConfigError([{ file: MUNICIPALITY_FILE, path: 'database.mssql.passwordEnv', line: 0, column: 0, reason: `環境変数 ${m.passwordEnv} が設定されていません` }]);
  }
  if (m.passwordFile) {
    if (!existsSync(m.passwordFile)) throw new ConfigError([{ file: MUNICIPALITY_FILE, path: 'database.mssql.passwordFile', line: 0, column: 0, reason: `パスワードファイルがありません (${m.passwordFile})` }]);
    return readFileSync(m.passwordFile, 'utf8').trim();
  }
  throw new Error('no password source');
}

import { Type as T, type Static, type TProperties, type ObjectOptions } from '@sinclair/typebox';

/**
 * The RPA agent API's contract (`/api/v1/agent/*`): request and response schemas in one module,
 * used by the server's routes (`http/routes/rpa.ts`, which declare and check them) and by the
 * agent (`rpa-agent/src/api.ts`, which imports the types), so client and server cannot drift.
 * Responses are closed objects: a field added on one side without the schema fails the tests.
 */
const Obj = <P extends TProperties>(properties: P, options: ObjectOptions = {}) =>
  T.Object(properties, { additionalProperties: false, ...options });
const DateTime = (description: string) => T.String({ format: 'date-time', description });

export const JobIdParams = T.Object({ id: T.Integer({ minimum: 1, maximum: 2_147_483_647, title: 'ジョブ番号' }) });

/**
 * The 支援措置 flag of a job (`protection`, also in `payload.protection`): set when a person of the entry is under a
 * support measure, belongs to a protected household, or the typed address is a protected one.
 * Such a job goes only to an agent whose group holds `resident.viewProtectedAddress`; a scenario
 * may map it to the core system's own 支援措置 flag (`{{protection.supportMeasure}}`).
 */
export const JobProtectionSchema = Obj(
  { supportMeasure: T.Boolean({ description: '支援措置の対象 (本人・世帯・入力された住所のいずれか)' }) },
  { 'x-component': 'AgentJobProtection' },
);

/** A job handed to an agent: what to enter, and how long the lease lasts without a heartbeat. */
export const ClaimedJobSchema = Obj(
  {
    id: T.Integer({ minimum: 1 }),
    idempotencyKey: T.String({ description: '一つの届出・請求の行に一つ (二重入力の防止)' }),
    reference: T.Union([T.String(), T.Null()], { description: '基幹系の受付番号欄に入れる番号 (冪等性の確認に使う)' }),
    scenario: T.String({ description: 'シナリオ名 (届出の種類または証明書の種類)' }),
    payload: T.Record(T.String(), T.Unknown(), {
      description:
        '入力する内容 (個人情報を含む)。支援措置の印を protection (下と同じ) にも持つので、シナリオから {{protection.supportMeasure}} で使えます',
    }),
    protection: JobProtectionSchema,
    keepEvidence: T.Boolean({
      description: '証跡 (画面写真・トレース) を残して送ってよいか。支援措置の対象のジョブでは false (端末は何も残さない)',
    }),
    attempt: T.Integer({ minimum: 1, description: '何回目の試行か' }),
    leaseExpiresAt: T.Union([DateTime('貸出の期限'), T.Null()]),
    leaseSeconds: T.Integer({ minimum: 1, description: '心拍 (heartbeat) で延ばす貸出の長さ' }),
  },
  { 'x-component': 'AgentClaimedJob' },
);
/** 200 with a job; 204 (no body, `Retry-After` on battery) when there is none. */
export const ClaimResponse = Obj({ job: ClaimedJobSchema }, { 'x-component': 'AgentClaimResponse' });

export const HeartbeatResponse = Obj({ leaseExpiresAt: DateTime('延長後の貸出の期限') });
export const ReleaseResponse = Obj({ status: T.Literal('queued') });

export const SuccessBody = T.Object({ coreRef: T.String({ minLength: 1, title: '基幹系処理番号 (65 文字目からは保存しない)' }) });
export const SuccessResponse = Obj({ status: T.Literal('succeeded') });

export const FailureBody = T.Object({
  kind: T.Union([T.Literal('business'), T.Literal('application')], { title: 'エラーの種類' }),
  message: T.Optional(T.String({ maxLength: 4000, title: 'エラーの内容' })),
});
export const FailureResponse = Obj({ status: T.Union([T.Literal('queued'), T.Literal('needsAttention')]) });

export const EvidenceQuery = T.Object({ kind: T.Union([T.Literal('screenshot'), T.Literal('trace')], { title: '証跡の種類' }) });
export const EvidenceResponse = Obj({
  id: T.Integer({ minimum: 1 }),
  attempt: T.Integer({ minimum: 1 }),
  kind: T.Union([T.Literal('screenshot'), T.Literal('trace')]),
  bytes: T.Integer({ minimum: 1 }),
});

/** 200 with the files; 304 (no body) when the agent's ETag is still current. */
export const ScenariosResponse = Obj(
  {
    coreSystem: T.String(),
    files: T.Array(Obj({ name: T.String(), text: T.String(), sha256: T.String({ pattern: '^[0-9a-f]{64}$' }) })),
  },
  { 'x-component': 'AgentScenarioFiles' },
);

export type ClaimedJob = Static<typeof ClaimedJobSchema>;
export type JobProtection = Static<typeof JobProtectionSchema>;
export type ClaimResult = Static<typeof ClaimResponse>;
export type HeartbeatResult = Static<typeof HeartbeatResponse>;
export type ReleaseResult = Static<typeof ReleaseResponse>;
export type SuccessRequest = Static<typeof SuccessBody>;
export type SuccessResult = Static<typeof SuccessResponse>;
export type FailureRequest = Static<typeof FailureBody>;
export type FailureResult = Static<typeof FailureResponse>;
export type EvidenceResult = Static<typeof EvidenceResponse>;
export type ScenarioFiles = Static<typeof ScenariosResponse>;

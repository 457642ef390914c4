/**
 * Every error madoguchi shows to a person or a client: a stable code, the HTTP status it maps to,
 * and the Japanese message. Services throw `DomainError(code)`; one middleware
 * (`http/errorHandler.ts`) turns it into a JSON error or the styled error page. Messages with
 * `{name}` placeholders are filled from the error's params.
 *
 * Add a code here rather than writing a message at the throw site: the catalog is what the
 * OpenAPI document lists and what staff documentation can point to.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

export interface CatalogEntry {
  readonly status: ErrorStatus;
  readonly message: string;
}

export const errorCatalog = {
  // Input
  'input.invalid': { status: 400, message: '{detail}' },
  'input.badId': { status: 400, message: '番号が正しくありません' },
  'input.badJson': { status: 400, message: '送られたデータを読めません (JSON の形式が正しくありません)' },
  'input.unprocessable': { status: 422, message: '{detail}' },
  'input.tooDeep': { status: 400, message: '送られたデータの入れ子が深すぎます (上限 {limit} 段)' },
  'input.unreadable': { status: 400, message: '送られたデータを読めません。画面を開き直してからやり直してください' },
  'input.badEncoding': { status: 400, message: '送られたデータの圧縮形式または文字コードを読めません' },
  'input.tooLarge': { status: 413, message: '送られたデータが大きすぎます (上限 {limit})' },
  'input.unsupportedType': { status: 415, message: 'この形式のデータは受け付けません ({type})' },
  // Authentication and permission
  'auth.loginRequired': { status: 401, message: 'ログインしてください' },
  'auth.badToken': { status: 401, message: '端末の認証トークンが無効です' },
  'standby.unsigned': { status: 401, message: '待機系の送信の署名がないか、正しくありません (共有の秘密・時計のずれを確認してください)' },
  'standby.standbyNode': { status: 503, message: 'この系は待機系です。運用系のまどぐちを使ってください' },
  'auth.forbidden': { status: 403, message: 'この操作を行う権限がありません' },
  'auth.mustChangePassword': { status: 403, message: 'パスワードを変更してから操作してください' },
  'auth.csrf': { status: 403, message: '画面の有効期限が切れました。画面を開き直してからやり直してください (CSRF)' },
  'auth.staffOnly': { status: 403, message: '端末からはこの操作はできません' },
  'auth.tooManyAttempts': { status: 429, message: 'ログインの試行が多すぎます。しばらくしてからやり直してください' },
  // Generic
  'notice.procedureForbidden': { status: 403, message: '「{name}」を扱う権限がありません ({permission})' },
  'apiClient.badName': { status: 400, message: '端末名は半角英数字と . _ - で 64 文字以内にしてください' },
  'apiClient.exists': { status: 409, message: '端末「{name}」は登録済みです。先に失効させてください' },
  'group.unknown': { status: 400, message: 'グループ「{code}」はありません' },
  'staff.validityReversed': { status: 400, message: '有効期間の開始が終了より後になっています' },
  'resident.myNumberForbidden': { status: 403, message: '個人番号を表示する権限がありません' },
  'notFound.page': { status: 404, message: 'ページが見つかりません' },
  'notFound.resource': { status: 404, message: '指定された{what}はありません' },
  'state.conflict': { status: 409, message: '{detail}' },
  'state.moveNotAllowed': {
    status: 409,
    message: '{what}は「{from}」のため「{to}」にできません。できる操作: {allowed}',
  },
  // Notices, visits and RPA jobs (the aggregates' own rules beyond their move tables)
  'notice.selfReview': { status: 403, message: '自分で受け付けた届出は審査できません (別の職員が審査します)' },
  'notice.protectedReview': {
    status: 403,
    message: 'この届出は支援措置の対象者・世帯・住所に関わるため、支援措置担当 (権限 resident.viewProtectedAddress) の審査が必要です',
  },
  'rpa.leaseLost': { status: 409, message: 'このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)' },
  'rpa.protectedJob': {
    status: 403,
    message: 'このジョブは支援措置の対象のため、支援措置対象者の住所を扱う権限 (支援措置担当) がないと表示できません',
  },
  // The resident screen (住民用画面)
  'residentScreen.notPaired': {
    status: 401,
    message: 'この画面は窓口とつながっていません。窓口の職員に番号を表示してもらい、入力してください',
  },
  'residentScreen.badCode': { status: 400, message: '番号が違うか、期限が切れています。窓口の職員にもう一度表示してもらってください' },
  'residentScreen.noScreen': {
    status: 409,
    message: 'この窓口 ({counter}) には住民用画面がつながっていません。「住民用画面をつなぐ」で番号を表示し、画面で入力してください',
  },
  'residentScreen.closed': { status: 409, message: 'この内容はもう表示されていません (職員が閉じたか、期限が切れました)' },
  'residentScreen.notConfirmed': { status: 409, message: '先に「内容を確認しました」を押してください' },
  'residentScreen.badSignature': { status: 400, message: '署名を読み取れませんでした。もう一度書いてください' },
  // Card readers at the counters (カード読取)
  'card.noCounter': {
    status: 409,
    message: '窓口が選ばれていません。ログイン画面 (または画面右上の「切替」) で窓口を選んでからカードを読み取ってください',
  },
  'card.noReader': {
    status: 409,
    message: 'この窓口 ({counter}) のカード読取装置とつながっていません。窓口の PC のカード読取ヘルパーが動いているか確かめてください',
  },
  'card.badPin': { status: 400, message: '暗証番号は数字 4 桁です' },
  'card.badCardNumber': { status: 400, message: '在留カード等番号は英字 2 文字・数字 8 桁・英字 2 文字の 12 文字です (例: AB12345678CD)' },
  'card.visitClosed': { status: 409, message: '完了した来庁記録ではカードを読み取れません' },
  'card.unknownRequest': { status: 409, message: 'この読み取りは終わったか期限が切れました。もう一度読み取ってください' },
  // The counter: visits, the person view, certificate requests, printing (来庁・証明・印刷)
  'visit.staffOnlyOpen': { status: 403, message: '端末からは来庁を開けません' },
  'visit.staffOnly': { status: 403, message: '端末からは来庁記録を変更できません' },
  'visit.proxyRelationshipRequired': { status: 400, message: '代理人の場合は本人との関係を入力してください' },
  'visit.manualNameRequired': { status: 400, message: '手入力する人の氏名を入力してください' },
  'date.unreadable': { status: 400, message: '{label}: {detail}' },
  'date.dayRequired': { status: 400, message: '{label}は日まで入力してください' },
  'resident.notFound': { status: 404, message: '指定された住民は見つかりません' },
  'certificate.staffOnly': { status: 403, message: '端末からは受け付けられません' },
  // A certificate request's line refused (shown beside the line; the refusal is audited)
  'certificate.subjectMissing': { status: 400, message: '{line} 行目: 対象者を選んでください (来庁記録に対象者を追加してください)' },
  'certificate.subjectUnknown': { status: 400, message: '{line} 行目: 宛名番号 {no} の住民・住登外者・法人は登録されていません' },
  'certificate.subjectNotInVisit': {
    status: 403,
    message: '{line} 行目: 対象者はこの来庁の対象者ではありません。来庁記録の「対象者を追加」で加えてから請求してください',
  },
  'certificate.issuanceBan': { status: 403, message: '{line} 行目: 対象者に発行禁止の設定があるため、本人以外には交付できません' },
  'certificate.supportMeasure': {
    status: 403,
    message: '{line} 行目: 対象者は支援措置の対象のため、代理人・第三者への交付は支援措置担当の確認が必要です',
  },
  'print.templateMissing': { status: 500, message: '様式 {template} がありません (config/forms)' },
  'print.noAcceptedNotices': { status: 400, message: '印刷する受付済の届出がありません' },
  'print.procedureNotInVisit': { status: 404, message: '指定された手続きはこの来庁にありません' },
  'print.procedureHasNoForms': { status: 400, message: 'この手続きには印刷する様式がありません' },
  'print.noNoticeForForms': { status: 400, message: '受付済の届出がないため、様式に入れる内容がありません' },
  'print.noPersons': {
    status: 400,
    message:
      '「{name}」の対象の人が決まっていないため、申請書を印刷できません (手で追加した手続きや、取り消した届出の手続き)。届出から出た手続きで印刷してください',
  },
  'print.pamphletMissing': { status: 404, message: 'パンフレットのファイルがありません (config/pamphlets)' },
  // The form's data cannot be printed as it is (422): what to change, naming the template and the field.
  'print.missingGlyph': {
    status: 422,
    message:
      '「{char}」({codePoint}) は印刷用のフォントにない文字です (様式 {template} の項目 {field})。外字の登録を情報政策課に依頼してください',
  },
  'print.unprintable': { status: 422, message: '{detail} (様式 {template} の項目 {field})' },
  // Administration: staff, groups, machine clients, bulletins (伝達事項)
  'staff.notFound': { status: 404, message: '職員が見つかりません' },
  'staff.loginIdTaken': { status: 400, message: 'ログイン ID「{loginId}」はすでに使われています' },
  'staff.cannotDisableSelf': { status: 400, message: '自分のアカウントは無効にできません' },
  'staff.importEmpty': { status: 400, message: 'CSV ファイルが空です' },
  'staff.importRefused': { status: 409, message: '{detail} (何も反映していません。確認からやり直してください)' },
  'staff.importTooManyRows': {
    status: 413,
    message: '職員の一括更新は 1 ファイル {limit} 人までです ({line} 行目で読むのをやめました)。ファイルを分けて送ってください',
  },
  'group.notFound': { status: 404, message: 'グループが見つかりません' },
  'group.unknownPermission': { status: 400, message: '権限「{permission}」はありません' },
  'group.unknownScope': { status: 400, message: '資格の種類「{kind}」はありません' },
  'apiClient.notFound': { status: 404, message: '有効な端末が見つかりません' },
  'bulletin.notFound': { status: 404, message: '伝達事項が見つかりません' },
  'bulletin.empty': { status: 400, message: '件名と本文を入力してください' },
  'bulletin.staffOnly': { status: 403, message: '端末からは掲示できません' },
  // Periods of reports and exports (窓口統計)
  'period.badDate': { status: 400, message: '{label}は YYYY-MM-DD の形式の実在する日付で指定してください (例: 2026-04-01)' },
  'period.reversed': { status: 400, message: '期間の開始は終了と同じか、それより前の日付にしてください' },
  'period.tooLong': { status: 400, message: '期間は {days} 日 (2 年) 以内で指定してください' },
  'server.internal': { status: 500, message: 'サーバーでエラーが発生しました。しばらくしてからやり直してください。' },
  'server.busy': { status: 503, message: 'データベースが混み合っています (データの取込中など)。しばらくしてからやり直してください' },
  'server.unavailable': { status: 503, message: '{detail}' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

/** Fills `{name}` placeholders; an unfilled one is dropped rather than shown as a brace. */
export function formatMessage(template: string, params: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_, k: string) => (params[k] === undefined ? '' : String(params[k])));
}

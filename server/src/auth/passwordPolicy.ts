/** The password rules a municipality configures (`auth.password`). */
export interface PasswordPolicy {
  minLength: number;
  /** How many of the four classes (upper, lower, digit, symbol) a password must mix. */
  minClasses: number;
  /** The last N passwords may not be used again (0: no history check). */
  historyCount: number;
  /** Days after which a change is required (0: never). */
  maxAgeDays: number;
}

export const defaultPasswordPolicy: PasswordPolicy = { minLength: 12, minClasses: 3, historyCount: 5, maxAgeDays: 0 };

const CLASSES: readonly RegExp[] = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/];

/**
 * The reasons a new password breaks the policy, in Japanese for the member of staff; empty when
 * it is acceptable. The history check needs the stored hashes and is done by the caller.
 */
export function passwordProblems(password: string, policy: PasswordPolicy, loginId: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < policy.minLength) problems.push(`パスワードは ${policy.minLength} 文字以上にしてください (今は ${length} 文字)`);
  if (length > 128) problems.push('パスワードは 128 文字以下にしてください');
  if (/[^\x21-\x7e]/.test(password)) problems.push('パスワードに使えるのは半角の英数字と記号だけです (空白・全角文字は使えません)');
  const classes = CLASSES.filter((re) => re.test(password)).length;
  if (classes < policy.minClasses)
    problems.push(`英大文字・英小文字・数字・記号のうち ${policy.minClasses} 種類以上を含めてください (今は ${classes} 種類)`);
  if (loginId && password.toLowerCase().includes(loginId.toLowerCase())) problems.push('ログイン ID を含むパスワードは使えません');
  return problems;
}

/** True when the password was changed more than maxAgeDays ago. */
export function passwordExpired(changedAt: Date | null, policy: PasswordPolicy, now: Date): boolean {
  if (policy.maxAgeDays <= 0) return false;
  if (!changedAt) return true;
  return now.getTime() - changedAt.getTime() > policy.maxAgeDays * 86_400_000;
}

/**
 * School stage by the Japanese school year (学年: April 1 – March 31). A child starts 小1 at the
 * first April 1 after reaching 6 (学校教育法 17 条: 満6歳に達した日の翌日以後における最初の学年の初め).
 * One reaches an age at the end of the day before the birthday, so the cohorts run April 2 –
 * April 1: a child born on April 1 is in the older cohort. Dates are `YYYY-MM-DD` text; a 2/29
 * birth reaches its ages on 2/28 (`endOfSchoolYearReaching`).
 */
import { endOfSchoolYearReaching } from './dates.js';
import type { SchoolStage } from './procedureTypes.js';

const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/** The school year (年度) a date falls in, named by the calendar year in which it starts. */
export function schoolYearOf(date: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  const year = Number(m[1]);
  return Number(m[2]) >= 4 ? year : year - 1;
}

/** The school year in which the child is in 小1. */
export function elementaryEntryYear(birthDate: string): number {
  // The school year in which the child reaches 6 ends on March 31 of this year; 小1 starts the next day.
  return Number(endOfSchoolYearReaching(birthDate, 6).slice(0, 4));
}

/**
 * Grade on `on`, counted from 小1 = 1: 1–6 elementary, 7–9 junior high (中1–中3), 10–12 high-school
 * age; 0 or less before school (0 = the year before 小1), 13 and more after.
 */
export function schoolGrade(birthDate: string, on: string): number {
  return schoolYearOf(on) - elementaryEntryYear(birthDate) + 1;
}

export function schoolStage(birthDate: string, on: string): SchoolStage {
  const grade = schoolGrade(birthDate, on);
  if (grade < 1) return 'preschool';
  if (grade <= 6) return 'elementary';
  if (grade <= 9) return 'juniorHigh';
  if (grade <= 12) return 'highSchoolAge';
  return 'adult';
}

export const schoolStageLabels: Readonly<Record<SchoolStage, string>> = {
  preschool: '未就学児',
  elementary: '小学生',
  juniorHigh: '中学生',
  highSchoolAge: '高校生年代',
  adult: '高校卒業以上',
};

/** The staff session cookie (HttpOnly, SameSite=Strict). Its own module so nothing imports app.ts for it. */
export const SESSION_COOKIE = 'madoguchi_session';
/** The resident screen's device cookie (HttpOnly, SameSite=Strict, path /resident): see routes/residentScreen.ts. */
export const RESIDENT_COOKIE = 'madoguchi_resident';

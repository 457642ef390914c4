/** The staff session cookie (HttpOnly, SameSite=Strict). Its own module so nothing imports app.ts for it. */
export const SESSION_COOKIE = 'madoguchi_session';

/**
 * Loaded before every test file (.mocharc.json `require`). Every JSON response of every test
 * server — in this process or a child it starts — is checked against the schema its route
 * declares; a mismatch answers 500, so a drifting response fails the test that saw it.
 */
process.env.MADOGUCHI_RESPONSE_CHECK = 'throw';

/**
 * A fresh PostgreSQL database per test file, on the machine's server (127.0.0.1:5432, trust auth).
 * Never skipped: when PostgreSQL is down the tests fail and say so.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the tests use; CI starts it (.ci/run). */
export const TEST_PG_URL = process.env.SESAME_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database that exists until `drop()`. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a unique name. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `sesame_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${TEST_PG_URL} (${(e as Error).message}); start it (see .ci/run).`);
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

import { loadConfig } from '../../../src/config/env';

const valid = {
  DATABASE_URL: 'postgres://ledgerline_app:x@127.0.0.1:5432/ledgerline',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  ADMIN_TOKEN: 'a'.repeat(32),
};

describe('configuration from the environment', () => {
  it('applies defaults for the local stack', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      HTTP_PORT: 3000,
      HTTP_HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'ledgerline-subscriptions',
    });
  });

  it('refuses to start with every problem listed by variable name', () => {
    const attempt = () =>
      loadConfig({ ...valid, DATABASE_URL: 'mysql://x', ADMIN_TOKEN: 'short', HTTP_PORT: '70000' });
    expect(attempt).toThrow(/DATABASE_URL: must be a postgres:\/\/ connection URL/);
    expect(attempt).toThrow(/HTTP_PORT: Too big/);
    expect(attempt).toThrow(/ADMIN_TOKEN: must be at least 32 characters/);
  });

  it('requires the database, Redis and the admin token', () => {
    expect(() => loadConfig({})).toThrow(/DATABASE_URL[\s\S]*REDIS_URL[\s\S]*ADMIN_TOKEN/);
  });
});

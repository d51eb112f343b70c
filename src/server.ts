// Entry point: parse config, build the app, listen, and close cleanly on SIGTERM/SIGINT.
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

try {
  const config = loadConfig();
  const app = await buildApp(config);
  const close = async (signal: string) => {
    app.log.info(`${signal} received, closing`);
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.once('SIGINT', () => void close('SIGINT'));
  const address = await app.listen({ port: config.PORT, host: config.HOST });
  app.log.info(`agent-ledger listening on ${address} (${app.engine.mode} ClickHouse${app.engine.mode === 'embedded' ? `, data in ${config.DATA_DIR}` : ''}); API docs at ${address}/docs`);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78);
  }
  throw err;
}

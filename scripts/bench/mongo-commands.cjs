/*
 * A preload for the bench's service process (BENCH_SERVICE_NODE_ARGS="--require
 * <repo>/scripts/bench/mongo-commands.cjs"): counts the MongoDB commands the service sends,
 * by command and collection, through the driver's command monitoring, and writes the
 * counts to $MONGO_COMMANDS_OUT (default /tmp/mongo-commands-<pid>.json) every second
 * and at exit. A measuring aid only; the service never loads it by itself.
 */
const Module = require('node:module');
const { writeFileSync } = require('node:fs');

const out = process.env.MONGO_COMMANDS_OUT || `/tmp/mongo-commands-${process.pid}.json`;
const counts = {};
const ignored = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'saslStart', 'saslContinue', 'buildInfo']);
const write = () => writeFileSync(out, JSON.stringify(counts, null, 1));

const originalRequire = Module.prototype.require;
let patched = false;
Module.prototype.require = function require(id) {
  const m = originalRequire.apply(this, arguments);
  if (!patched && id === 'mongodb' && m && m.MongoClient) {
    patched = true;
    const connect = m.MongoClient.prototype.connect;
    m.MongoClient.prototype.connect = function monitoredConnect() {
      this.monitorCommands = true;
      this.on('commandStarted', (ev) => {
        if (ignored.has(ev.commandName)) return;
        const target = ev.command[ev.commandName];
        const key = `${ev.commandName} ${typeof target === 'string' ? target : ''}`.trim();
        counts[key] = (counts[key] || 0) + 1;
      });
      return connect.apply(this, arguments);
    };
    setInterval(write, 1000).unref();
    process.on('exit', write);
  }
  return m;
};

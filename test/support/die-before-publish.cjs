'use strict';
// Preloaded (node --require) into a spawned server by test/cluster.e2e-spec.ts: the process
// SIGKILLs itself when it is about to publish the event of a message whose content is
// PARLEY_TEST_DIE_BEFORE_PUBLISH, that is, right after that message's transaction committed.
const Module = require('node:module');
const marker = process.env.PARLEY_TEST_DIE_BEFORE_PUBLISH;
const load = Module._load;
Module._load = function (request, ...rest) {
  const exported = load.call(this, request, ...rest);
  if (marker && /redis-event-bus$/.test(request) && exported.RedisEventBus && !exported.RedisEventBus.patched) {
    const publish = exported.RedisEventBus.prototype.publish;
    exported.RedisEventBus.prototype.publish = function (name, payload) {
      if (name === 'message.created' && payload.message.content === marker) process.kill(process.pid, 'SIGKILL');
      return publish.call(this, name, payload);
    };
    exported.RedisEventBus.patched = true;
  }
  return exported;
};

import { isStoreUnreachable } from '../../src/errors';

const named = (name: string, message = 'x', extra: object = {}) => Object.assign(new Error(message), { name, ...extra });

describe('isStoreUnreachable: which errors mean "a store is down for now" (503), not a bug (500)', () => {
  it.each([
    ['the driver could not select a server', named('MongoServerSelectionError', 'Server selection timed out after 10000 ms')],
    ['mongoose could not select a server', named('MongooseServerSelectionError')],
    ['a connection broke mid-command', named('MongoNetworkError', 'connection 4 to 127.0.0.1:27017 closed')],
    ['the pool was cleared', named('MongoPoolClearedError')],
    ['Redis gave up retrying a command', named('MaxRetriesPerRequestError')],
    ['PostgreSQL behind FerretDB is full', named('MongoServerError', 'FATAL: sorry, too many clients already', { code: 1 })],
    ['PostgreSQL behind FerretDB restarts', named('MongoServerError', 'FATAL: terminating connection due to administrator command')],
    ['PostgreSQL behind FerretDB is starting', named('MongoServerError', 'the database system is starting up')],
    ['a wrapped cause', Object.assign(new Error('read failed'), { cause: named('MongoNetworkError') })],
  ])('yes: %s', (_label, err) => {
    expect(isStoreUnreachable(err)).toBe(true);
  });

  it.each([
    ['a duplicate key', named('MongoServerError', 'E11000 duplicate key error', { code: 11000 })],
    ['any other server error', named('MongoServerError', 'unknown operator: $foo')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error at all', 'MongoNetworkError'],
    ['null', null],
  ])('no: %s', (_label, err) => {
    expect(isStoreUnreachable(err)).toBe(false);
  });
});

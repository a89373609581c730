import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { createActivities } from '../activities';
import { ComplianceStore } from '../store/compliance';
import { LogStore } from '../store/logs';
import { EventRecords } from '../store/event-records';
import { AwsClients } from '../activities/aws';
import { CommandEnds } from '../activities/command-tracker';
import { CommandEventQueue, queueRegion } from '../activities/command-events';

export interface PatchwaveWorker {
  worker: Worker;
  /** The worker's Temporal client (closed by shutdown). */
  client: Client;
  run(): Promise<void>;
  shutdown(): Promise<void>;
  /** The command events queue reader, when PATCHWAVE_COMMAND_EVENTS_QUEUE_URL is set (tests read its stats). */
  commandEvents?: CommandEventQueue;
}

/**
 * One construction path for the worker, used by `worker/main.ts`, the tests and the benchmarks.
 * Workflows are bundled from source; activities get the store, the AWS clients and a Temporal client
 * (to signal-with-start machine command queues).
 */
export async function createPatchwaveWorker(args: {
  config: Config;
  db: Db;
  overrides?: Partial<WorkerOptions>;
}): Promise<PatchwaveWorker> {
  const { config, db } = args;
  await new EventRecords(db).ensureIndexes();
  await new LogStore(db).ensureIndexes();
  await new ComplianceStore(db).ensureIndexes();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const aws = new AwsClients(config);
  // Event-driven completion (off unless the queue is configured): the reader wakes the SSM activities' followers.
  const commandEnds = new CommandEnds();
  const queueUrl = config.PATCHWAVE_COMMAND_EVENTS_QUEUE_URL;
  const commandEvents = queueUrl
    ? new CommandEventQueue({
        sqs: aws.sqs(queueRegion(queueUrl, config.AWS_REGION)),
        queueUrl,
        onEnded: (commandId, instanceId) => commandEnds.ended(commandId, instanceId),
        log: (level, message) => {
          // As LOG_LEVEL says: warnings unless it is error, fatal or silent; the start line at info and below.
          const min = ['trace', 'debug', 'info', 'warn'].indexOf(config.LOG_LEVEL);
          if (level === 'warn' ? min >= 0 : min >= 0 && min <= 2)
            (level === 'warn' ? console.warn : console.log)(message);
        },
      })
    : undefined;
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ db, config, client, aws, commandEnds }),
    // Most activities wait on I/O (SSM polling, hooks): many may run at once on a small machine.
    maxConcurrentActivityTaskExecutions: 500,
    maxConcurrentWorkflowTaskExecutions: 100,
    // Room for every workflow of a full event in flight (MAX_INFLIGHT 500 machine runs + their 500 command queues
    // + events): an evicted one is replayed from its whole history at its next task. Measured (bench (a), 1,000
    // machines, issue 18): 400 → 1,500 cut worker CPU 60 → 49 ms per machine with no growth in peak RSS (~0.9 GiB
    // either way; with V8 context reuse a cached workflow costs far less than the ~1.5 MiB measured without it).
    maxCachedWorkflows: 1500,
    ...args.overrides,
  });
  let running: Promise<void> | undefined;
  return {
    worker,
    client,
    commandEvents,
    run() {
      commandEvents?.start();
      running ??= worker.run();
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await commandEvents?.stop();
      aws.destroy();
      await connection.close();
      await clientConnection.close();
    },
  };
}

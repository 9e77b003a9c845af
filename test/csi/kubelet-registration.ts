// For tests: the kubelet's side of plugin registration (its plugin watcher's GetInfo and NotifyRegistrationStatus, with its deadlines).
import * as grpc from '@grpc/grpc-js';
import {
  type PluginInfo,
  type RegistrationStatus,
  registrationService,
} from '../../src/csi/node/plugin-registration.ts';

export interface KubeletRegistrationClient {
  /** GetInfo, with the kubelet's 1 s deadline. */
  getInfo(): Promise<PluginInfo>;
  /** NotifyRegistrationStatus, with the kubelet's 5 s deadline. */
  notify(status: RegistrationStatus): Promise<object>;
  close(): void;
}

/** Dials a plugin's registration socket as the kubelet does. */
export function kubeletRegistrationClient(socketPath: string): KubeletRegistrationClient {
  const Client = registrationService();
  const client = new Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const call = <Res>(method: string, req: object, ms: number): Promise<Res> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
      if (!fn) {
        reject(new Error(`no Registration method ${method}`));
        return;
      }
      fn.call(client, req, { deadline: Date.now() + ms }, (err: grpc.ServiceError | null, res: Res) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    getInfo: () => call<PluginInfo>('GetInfo', {}, 1_000),
    notify: (s) => call<object>('NotifyRegistrationStatus', s, 5_000),
    close: () => client.close(),
  };
}

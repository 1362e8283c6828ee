import type { ServiceHandle } from '../../src/dev/services';

export default async function globalTeardown(): Promise<void> {
  const handles = (globalThis as { __MW_SERVICES__?: ServiceHandle[] }).__MW_SERVICES__ ?? [];
  for (const h of handles.reverse()) await h.stop();
}

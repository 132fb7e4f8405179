// Type-checked by `tsc --noEmit` in the tests: the PostgreSQL store and the policy sources.
import { type PolicyError, PostgresApprovalStore, SourceError, StoreError, UrlSource } from 'agen-policy'

export async function serve(dsn: string, url: string): Promise<void> {
  const source = await UrlSource.open(url, {
    interval: 5000,
    sha256: undefined,
    onError: (error: PolicyError) => console.warn(error.code, error instanceof SourceError ? error.status : undefined),
    onUpdate: (version: string) => console.log('now serving', version),
  })
  const store = new PostgresApprovalStore(dsn, { connectTimeout: 2000 })
  const applied: number[] = await store.migrate()
  const request = { user: 'alice', connector: 'github', tool: 'delete_repository', now: Date.now() }
  try {
    const { version, state } = await store.open(source.engine.current, request, 'security-review', 'apr-1', Date.now())
    console.log(applied, version, state.status)
  } catch (e) {
    if (e instanceof StoreError && e.code === 'store_unavailable') console.error('approvals are down')
  }
  source.stop()
  await store.close()
}

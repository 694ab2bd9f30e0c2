/** A signal that aborts the provider or API call when the response closes (client gone) before it is answered. */
export function abortOnClose(response: NodeJS.EventEmitter): AbortSignal {
  const abort = new AbortController();
  response.once('close', () => abort.abort());
  return abort.signal;
}

// The page's entry: a document of a declared type gets the form built from its schema
// (type-page.js); every other document, or a server that does not answer the question, the
// Todo list (app.js). Asking first costs one small request before the WebSocket opens.

import { pageOptions, refuseAccess } from './connection.js';
import { callAPI } from './history-panel.js';

const options = pageOptions(location.href);
const documentName = options.document ?? 'default';

/** The declared type of the document (`GET /api/docs/<name>/schema`), or null for the Todo list. */
async function declaredType() {
  if (options.problem) return null;
  try {
    const answer = await callAPI(location.href, options.token, `docs/${encodeURIComponent(documentName)}/schema`);
    return answer && typeof answer.schema === 'object' && answer.schema !== null ? answer : null;
  } catch (error) {
    if (error.status === 401 || error.status === 403) refuseAccess(error.status, options.token);
    // An older server, or the API refused: the page is the Todo list, as before.
    return null;
  }
}

const declared = await declaredType();
if (declared) {
  const { startTypePage } = await import('./type-page.js');
  await startTypePage({ documentName, model: declared.model, schema: declared.schema, options });
} else {
  await import('./app.js');
}

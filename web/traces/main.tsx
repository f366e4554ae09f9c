import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { focusHeading, SkipLink, useRoute } from '../src/page';
import { SearchView } from '../src/traces/search';
import { TraceView } from '../src/traces/trace';
import '../src/style.css';
import '../src/traces/traces.css';

// Jaeger answers every path it does not serve with this page; a link of
// its own UI to a trace (/trace/<id>) opens the trace here too.
const jaegerLink = /^\/trace\/([0-9a-f]{1,32})$/i.exec(location.pathname);
if (jaegerLink) history.replaceState(null, '', `/#/trace/${jaegerLink[1].toLowerCase()}`);

// A mangled link (a cut-off %-escape) is no trace ID rather than a blank page.
function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function App() {
  const route = useRoute();
  const [path, query = ''] = route.split('?');
  const parts = path.split('/').filter(Boolean);
  // The search a trace was opened from, for the way back to it.
  const [search, setSearch] = useState('');
  useEffect(() => {
    if (parts.length === 0) setSearch(query);
  }, [route]);
  // Focus moves to the heading when the view changes, for screen readers;
  // a new search keeps it in the form.
  useEffect(() => {
    focusHeading();
  }, [path]);
  const link = parts[0] === 'trace' ? parts[1] : undefined;
  const id = link ? decode(link) : null;
  let body;
  if (parts.length === 0) body = <SearchView query={query} />;
  else if (id !== null) body = <TraceView id={id} back={`#/?${search}`} />;
  else
    body = (
      <main>
        <h1 tabIndex={-1}>{link ? 'Not a trace ID' : 'Not found'}</h1>
        <p>
          <a href="#/">Search traces</a>
        </p>
      </main>
    );
  return (
    <>
      <SkipLink />
      <header>
        <a class="brand" href="#/">
          daprshop traces
        </a>
      </header>
      {body}
    </>
  );
}

render(<App />, document.getElementById('app')!);

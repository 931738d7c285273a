/**
 * History API routing under /console (the server answers index.html for every
 * /console/* path, so a reload or a shared link opens the same page).
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export type Route =
  | { page: 'assets' }
  | { page: 'models' }
  | { page: 'model'; id: string }
  | { page: 'predict'; ticker: string | null }
  | { page: 'not-found'; path: string };

export const BASE = '/console';

export function parseRoute(pathname: string, search = ''): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length).replace(/\/+$/, '') : pathname;
  if (rest === '' || rest === '/assets') return { page: 'assets' };
  if (rest === '/models') return { page: 'models' };
  if (rest.startsWith('/models/')) return { page: 'model', id: decodeURIComponent(rest.slice('/models/'.length)) };
  if (rest === '/predict') return { page: 'predict', ticker: new URLSearchParams(search).get('ticker') };
  return { page: 'not-found', path: pathname };
}

export const paths = {
  assets: () => `${BASE}`,
  models: () => `${BASE}/models`,
  // Model ids are bucket prefixes (`etfs/SPY`): keep the slash readable in the URL.
  model: (id: string) => `${BASE}/models/${id.split('/').map(encodeURIComponent).join('/')}`,
  predict: (ticker?: string) => `${BASE}/predict${ticker ? `?ticker=${encodeURIComponent(ticker)}` : ''}`,
};

export function navigate(to: string): void {
  if (to === window.location.pathname + window.location.search) return;
  window.history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname, window.location.search));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.pathname, window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return route;
}

/** An ordinary link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ href, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

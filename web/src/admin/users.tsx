import { useState } from 'preact/hooks';
import type { User } from '../api';
import { ErrorLine } from '../ui';
import { useLoad } from '../page';
import { admin, type Role, type UserPage } from './api';
import { Pager } from './catalog';
import { Done } from './parts';

const roles: Role[] = ['CUSTOMER', 'ADMIN', 'SUPER_ADMIN'];

export function UsersView() {
  const [page, setPage] = useState<UserPage | null>(null);
  const [n, setN] = useState(1);
  const [error, setError] = useState<unknown>(null);
  useLoad(() => admin.users(n), setPage, setError, [n]);
  return (
    <main>
      <h1 tabIndex={-1}>Users and roles</h1>
      <p class="hint">Only a super admin grants or removes the admin roles; a change applies on the user's next request.</p>
      <ErrorLine error={error} />
      {page && (
        <>
          <ul class="users">
            {page.items.map((u) => (
              <UserRow key={u.id} user={u} />
            ))}
          </ul>
          <Pager page={n} size={page.page_size} total={page.total} onPage={setN} />
        </>
      )}
    </main>
  );
}

function UserRow({ user }: { user: User }) {
  const [current, setCurrent] = useState(user);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setError(null);
    setDone('');
    try {
      setCurrent(await admin.setRoles(user.id, roles.filter((r) => f.get(r))));
      setDone('Roles saved.');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <li class="panel">
      <form onSubmit={save} key={current.roles.join()}>
        <fieldset>
          <legend>
            {current.name} <span class="muted">{current.email}</span>
          </legend>
          <div class="row">
            {roles.map((r) => (
              <label key={r} class="check">
                <input type="checkbox" name={r} defaultChecked={current.roles.includes(r)} /> {r}
              </label>
            ))}
            <button type="submit" aria-label={`Save roles of ${current.email}`}>
              Save roles
            </button>
          </div>
          <ErrorLine error={error} />
          {done && <Done>{done}</Done>}
        </fieldset>
      </form>
    </li>
  );
}

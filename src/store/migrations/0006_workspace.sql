-- 0006: the workspace (DAT-1..DAT-4): projects and their members,
-- directories and files (with versions), tasks and their file links,
-- label indexes of every customer resource, usage and quotas, and tenant
-- exports.  Names, descriptions, labels, titles, content types and
-- plaintext hashes are sealed (BLOB); *_index columns are blind indexes.
-- Optional values are NULL, never '' or an empty blob.
--
-- Every row names its tenant, and rows point at their parents through
-- (tenant_id, ...) composite keys, so the database itself refuses a row
-- whose project, directory, file, task or user lives in another tenant
-- or another project.

-- Parent key of (tenant_id, user_id) foreign keys exists since 0002
-- (users_tenant_id).

CREATE TABLE projects (
	id TEXT PRIMARY KEY NOT NULL,       -- prj_...
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name_index TEXT NOT NULL,
	name BLOB NOT NULL,
	description BLOB,
	labels BLOB,
	created_by TEXT,                    -- user id (history: no foreign key)
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL,
	UNIQUE (tenant_id, name_index),
	UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE project_members (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
	added_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, project_id, user_id),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id)
	    ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

CREATE INDEX project_members_user ON project_members(tenant_id, user_id,
    project_id);

-- The directory tree.  parent_id NULL is the project's root.  The parent
-- key does not cascade: a tree is removed by one DELETE of every
-- directory in it (store_dir_delete_tree), since a cascade per level
-- would stop at SQLite's trigger depth limit.  Projects cascade to all
-- their directories at once.
CREATE TABLE directories (
	id TEXT PRIMARY KEY NOT NULL,       -- dir_...
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	project_id TEXT NOT NULL,
	parent_id TEXT,
	name_index TEXT NOT NULL,
	name BLOB NOT NULL,
	labels BLOB,
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL,
	UNIQUE (tenant_id, project_id, id),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id)
	    ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, project_id, parent_id)
	    REFERENCES directories(tenant_id, project_id, id)
) STRICT;

-- listing a directory (ordered by id) and walking the tree
CREATE INDEX directories_parent ON directories(tenant_id, project_id,
    parent_id, id);

CREATE TABLE files (
	id TEXT PRIMARY KEY NOT NULL,       -- fil_...
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	project_id TEXT NOT NULL,
	directory_id TEXT,                  -- NULL: the project's root
	name_index TEXT NOT NULL,
	name BLOB NOT NULL,
	labels BLOB,
	kind TEXT NOT NULL CHECK (kind IN ('user', 'generated')),
	current_version INTEGER NOT NULL DEFAULT 0
	    CHECK (current_version >= 0),
	created_by TEXT,
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, project_id, id),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id)
	    ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, project_id, directory_id)
	    REFERENCES directories(tenant_id, project_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX files_directory ON files(tenant_id, project_id, directory_id,
    id);

-- Versions of a file's content.  blob_id names the encrypted content file
-- (src/blob); it is unique so that removing a version can always remove
-- its content.
CREATE TABLE file_versions (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	file_id TEXT NOT NULL,
	version INTEGER NOT NULL CHECK (version > 0),
	blob_id TEXT UNIQUE NOT NULL,
	size INTEGER NOT NULL CHECK (size >= 0),
	sha256 BLOB NOT NULL,
	content_type BLOB,
	uploaded_by TEXT,
	created_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, file_id, version),
	FOREIGN KEY (tenant_id, file_id) REFERENCES files(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

-- Sibling names: one name_index per (tenant, project, parent) across
-- directories and files; parent_id '' is the root.  Kept by the triggers
-- below in the same statement as the directory or file row, so two
-- concurrent creates of the same name cannot both succeed.
CREATE TABLE entry_names (
	tenant_id TEXT NOT NULL,
	project_id TEXT NOT NULL,
	parent_id TEXT NOT NULL,
	name_index TEXT NOT NULL,
	entry_id TEXT UNIQUE NOT NULL,      -- dir_... or fil_...
	PRIMARY KEY (tenant_id, project_id, parent_id, name_index),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

CREATE TRIGGER directories_name_insert AFTER INSERT ON directories
BEGIN
	INSERT INTO entry_names (tenant_id, project_id, parent_id, name_index,
	    entry_id)
	VALUES (NEW.tenant_id, NEW.project_id, COALESCE(NEW.parent_id, ''),
	    NEW.name_index, NEW.id);
END;

CREATE TRIGGER directories_name_update
AFTER UPDATE OF parent_id, name_index ON directories
BEGIN
	UPDATE entry_names SET parent_id = COALESCE(NEW.parent_id, ''),
	    name_index = NEW.name_index
	WHERE entry_id = OLD.id;
END;

CREATE TRIGGER directories_name_delete AFTER DELETE ON directories
BEGIN
	DELETE FROM entry_names WHERE entry_id = OLD.id;
END;

CREATE TRIGGER files_name_insert AFTER INSERT ON files
BEGIN
	INSERT INTO entry_names (tenant_id, project_id, parent_id, name_index,
	    entry_id)
	VALUES (NEW.tenant_id, NEW.project_id, COALESCE(NEW.directory_id, ''),
	    NEW.name_index, NEW.id);
END;

CREATE TRIGGER files_name_update
AFTER UPDATE OF directory_id, name_index ON files
BEGIN
	UPDATE entry_names SET parent_id = COALESCE(NEW.directory_id, ''),
	    name_index = NEW.name_index
	WHERE entry_id = OLD.id;
END;

CREATE TRIGGER files_name_delete AFTER DELETE ON files
BEGIN
	DELETE FROM entry_names WHERE entry_id = OLD.id;
END;

-- Tasks.  The assignee key does not cascade (ON DELETE SET NULL would
-- clear tenant_id too): deleting a user clears its assignments first.
CREATE TABLE tasks (
	id TEXT PRIMARY KEY NOT NULL,       -- tsk_...
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	project_id TEXT NOT NULL,
	title BLOB NOT NULL,
	description BLOB,
	labels BLOB,
	status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done')),
	assignee_id TEXT,
	due_us INTEGER NOT NULL DEFAULT 0,
	created_by TEXT,
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL,
	UNIQUE (tenant_id, project_id, id),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id)
	    ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, assignee_id) REFERENCES users(tenant_id, id)
) STRICT;

CREATE INDEX tasks_project ON tasks(tenant_id, project_id, status);
CREATE INDEX tasks_assignee ON tasks(tenant_id, assignee_id);

CREATE TRIGGER users_unassign BEFORE DELETE ON users
BEGIN
	UPDATE tasks SET assignee_id = NULL
	WHERE tenant_id = OLD.tenant_id AND assignee_id = OLD.id;
END;

-- Links between a task and files of the same project.
CREATE TABLE task_files (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	project_id TEXT NOT NULL,
	task_id TEXT NOT NULL,
	file_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, task_id, file_id),
	FOREIGN KEY (tenant_id, project_id, task_id)
	    REFERENCES tasks(tenant_id, project_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, project_id, file_id)
	    REFERENCES files(tenant_id, project_id, id) ON DELETE CASCADE
) STRICT;

-- child keys of the two foreign keys (cascades look rows up by them)
CREATE INDEX task_files_task ON task_files(tenant_id, project_id, task_id);
CREATE INDEX task_files_file ON task_files(tenant_id, project_id, file_id);

-- Blind indexes of every customer resource's labels, for filtering
-- lists.  Removed with the resource by the triggers below.
CREATE TABLE resource_labels (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	resource_type TEXT NOT NULL CHECK (resource_type IN ('project',
	    'directory', 'file', 'task', 'role', 'token')),
	resource_id TEXT NOT NULL,
	label_index TEXT NOT NULL,
	PRIMARY KEY (tenant_id, resource_type, resource_id, label_index)
) STRICT;

CREATE INDEX resource_labels_find ON resource_labels(tenant_id,
    resource_type, label_index, resource_id);

CREATE TRIGGER projects_labels_delete AFTER DELETE ON projects
BEGIN
	DELETE FROM resource_labels WHERE tenant_id = OLD.tenant_id
	    AND resource_type = 'project' AND resource_id = OLD.id;
END;

CREATE TRIGGER directories_labels_delete AFTER DELETE ON directories
BEGIN
	DELETE FROM resource_labels WHERE tenant_id = OLD.tenant_id
	    AND resource_type = 'directory' AND resource_id = OLD.id;
END;

CREATE TRIGGER files_labels_delete AFTER DELETE ON files
BEGIN
	DELETE FROM resource_labels WHERE tenant_id = OLD.tenant_id
	    AND resource_type = 'file' AND resource_id = OLD.id;
END;

CREATE TRIGGER tasks_labels_delete AFTER DELETE ON tasks
BEGIN
	DELETE FROM resource_labels WHERE tenant_id = OLD.tenant_id
	    AND resource_type = 'task' AND resource_id = OLD.id;
END;

CREATE TRIGGER roles_labels_delete AFTER DELETE ON roles
BEGIN
	DELETE FROM resource_labels WHERE tenant_id = OLD.tenant_id
	    AND resource_type = 'role' AND resource_id = OLD.id;
END;

CREATE TRIGGER api_tokens_labels_delete AFTER DELETE ON api_tokens
BEGIN
	DELETE FROM resource_labels WHERE tenant_id = OLD.tenant_id
	    AND resource_type = 'token' AND resource_id = OLD.id;
END;

-- Usage (plaintext bytes of every kept version, number of files) and
-- the operator's quotas; a tenant without a quota row has the defaults
-- of the configuration.
CREATE TABLE tenant_usage (
	tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
	bytes INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
	files INTEGER NOT NULL DEFAULT 0 CHECK (files >= 0)
) STRICT;

CREATE TABLE tenant_quotas (
	tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
	max_bytes INTEGER NOT NULL CHECK (max_bytes >= 0),
	max_files INTEGER NOT NULL CHECK (max_files >= 0),
	updated_us INTEGER NOT NULL
) STRICT;

-- Tenant exports (DAT-4): one archive each, stored encrypted as a blob.
CREATE TABLE exports (
	id TEXT PRIMARY KEY NOT NULL,       -- exp_...
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'ready',
	    'failed', 'expired')),
	blob_id TEXT,                       -- set once ready
	size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
	requested_by TEXT,
	created_us INTEGER NOT NULL,
	ready_us INTEGER NOT NULL DEFAULT 0,
	expires_us INTEGER NOT NULL DEFAULT 0,
	CHECK (status <> 'ready' OR blob_id IS NOT NULL)
) STRICT;

CREATE INDEX exports_tenant ON exports(tenant_id, created_us);
CREATE INDEX exports_status ON exports(status, created_us);

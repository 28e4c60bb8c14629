"""job queue: one ``job`` table for every background task and ``stored_file`` for shared files; card print jobs
move into them

Revision ID: 5e1a1ca8d35d
Revises: 7c1e0a4d9b21
Create Date: 2026-12-04 15:50:38.461389

Card jobs keep their ids (so /cards/jobs/<id> links still work) and become ``cards.print`` jobs; a finished
batch's PDF becomes the job's result file. A batch that was queued or running when the old code stopped had
lost its thread: it is put back in the queue (``enqueued_at`` empty, so the first sweep sends it).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5e1a1ca8d35d"
down_revision = "7c1e0a4d9b21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=60), nullable=False),
        sa.Column("error_params", sa.JSON(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('queued','running','done','failed')", name=op.f("ck_job_state_known")),
        sa.CheckConstraint("progress >= 0 AND total >= 0 AND attempts >= 0", name=op.f("ck_job_counts_not_negative")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_job_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_job_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_scheme_id_kind", ["scheme_id", "kind"], unique=False)
        batch_op.create_index("ix_job_state_heartbeat_at", ["state", "heartbeat_at"], unique=False)

    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("on_disk", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_stored_file_job_id_job")),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"], name=op.f("fk_stored_file_owner_id_user_account")),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_stored_file_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
        sa.UniqueConstraint("token", name=op.f("uq_stored_file_token")),
    )
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.create_index("ix_stored_file_expires_at", ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stored_file_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stored_file_scheme_id"), ["scheme_id"], unique=False)

    _move_card_jobs()

    with op.batch_alter_table("card_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_job_scheme_id"))
    op.drop_table("card_job")


def _move_card_jobs():
    """card_job rows → job (same ids), their PDFs → stored_file, in two set-based statements."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        params = "json_build_object('scope', scope, 'on', to_char(created_at, 'YYYY-MM-DD'))"
        result = "CASE WHEN status = 'done' THEN json_build_object('cards', total) END"
        token = "md5(random()::text || clock_timestamp()::text || id::text)"
        expires = "COALESCE(finished_at, created_at) + interval '7 days'"
        false = "false"
    else:
        params = "json_object('scope', json(scope), 'on', date(created_at))"
        result = "CASE WHEN status = 'done' THEN json_object('cards', total) END"
        token = "lower(hex(randomblob(16)))"
        expires = "datetime(COALESCE(finished_at, created_at), '+7 days')"
        false = "0"
    op.execute(
        f"""
        INSERT INTO job (id, kind, scheme_id, created_by_id, params, state, progress, total, attempts, result, error,
                         worker, created_at, enqueued_at, started_at, heartbeat_at, finished_at)
        SELECT id, 'cards.print', scheme_id, requested_by_id, {params},
               CASE WHEN status IN ('done', 'failed') THEN status ELSE 'queued' END,
               CASE WHEN status = 'done' THEN progress ELSE 0 END, total,
               CASE WHEN status IN ('done', 'failed') THEN 1 ELSE 0 END, {result},
               CASE WHEN status = 'failed' THEN 'job.crashed' ELSE '' END,
               '', created_at, NULL, NULL, NULL,
               CASE WHEN status IN ('done', 'failed') THEN COALESCE(finished_at, updated_at, created_at) END
        FROM card_job
        """
    )
    op.execute(
        f"""
        INSERT INTO stored_file (token, purpose, name, size, scheme_id, owner_id, job_id, data, on_disk, created_at,
                                 expires_at)
        SELECT {token}, 'result', 'cards-' || id || '.pdf', pdf_size, scheme_id, requested_by_id, id, pdf, {false},
               COALESCE(finished_at, created_at), {expires}
        FROM card_job WHERE status = 'done' AND pdf IS NOT NULL
        """
    )
    if postgresql:  # ids were given: the sequence goes on after them
        op.execute("SELECT setval(pg_get_serial_sequence('job', 'id'), COALESCE((SELECT MAX(id) FROM job), 0) + 1, false)")


def downgrade():
    op.create_table(
        "card_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('queued','running','done','failed')", name=op.f("ck_card_job_status_known")),
        sa.CheckConstraint("progress >= 0 AND total >= 0", name=op.f("ck_card_job_counts_not_negative")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user_account.id"], name=op.f("fk_card_job_requested_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_card_job_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_job")),
    )
    with op.batch_alter_table("card_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_job_scheme_id"), ["scheme_id"], unique=False)

    # Card jobs go back with their PDFs when these are in the database (a file in MHI_STORAGE_DIR is not read
    # here: the batch comes back without it, as a failed one would).
    scope = "params -> 'scope'" if op.get_bind().dialect.name == "postgresql" else "json_extract(params, '$.scope')"
    op.execute(
        f"""
        INSERT INTO card_job (id, scheme_id, requested_by_id, scope, status, progress, total, error, pdf, pdf_size,
                              created_at, updated_at, finished_at)
        SELECT job.id, job.scheme_id, job.created_by_id, {scope}, job.state, job.progress, job.total, job.error,
               stored_file.data, COALESCE(stored_file.size, 0), job.created_at, COALESCE(job.heartbeat_at,
               job.created_at), job.finished_at
        FROM job LEFT JOIN stored_file ON stored_file.job_id = job.id AND stored_file.purpose = 'result'
        WHERE job.kind = 'cards.print' AND job.scheme_id IS NOT NULL
        """
    )

    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_file_scheme_id"))
        batch_op.drop_index(batch_op.f("ix_stored_file_job_id"))
        batch_op.drop_index("ix_stored_file_expires_at")
    op.drop_table("stored_file")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_state_heartbeat_at")
        batch_op.drop_index("ix_job_scheme_id_kind")
    op.drop_table("job")
